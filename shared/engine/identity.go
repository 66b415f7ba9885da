package engine

// Identity is who a request is, as the check that authenticated it established: the API key
// or a JWT's subject. Guards, rate-limit keys and upstream headers read it, whatever
// established it.
type Identity struct {
	// Method is how the identity was established: "api_key" or "jwt".
	Method string
	// KeyID is the API key's id ("" for other methods); UserID the token subject.
	KeyID, UserID string
	Name          string
	Permissions   []string
	Admin, Staff  bool
	// upstream are the identity headers for the upstream, built once per policy.
	upstream [][2]string
	// tier are the rate limits of the identity's tier (nil: none).
	tier []rateLimit
}

// Upstream identity headers. Any client-supplied header with the prefix is removed.
const (
	HeaderPrefix      = "x-portcullis-"
	HeaderAuth        = "x-portcullis-auth"
	HeaderKeyID       = "x-portcullis-key-id"
	HeaderKeyName     = "x-portcullis-key-name"
	HeaderUserID      = "x-portcullis-user-id"
	HeaderPermissions = "x-portcullis-permissions"
)

// HasPermission reports whether the identity holds permission p (exact match).
func (id *Identity) HasPermission(p string) bool {
	for _, q := range id.Permissions {
		if q == p {
			return true
		}
	}
	return false
}

// buildUpstream builds the identity headers once: method, key id and name, user id, and the
// permissions as one comma-separated value (permission names cannot contain commas).
func (id *Identity) buildUpstream() {
	h := make([][2]string, 0, 5)
	h = append(h, [2]string{HeaderAuth, id.Method})
	if id.KeyID != "" {
		h = append(h, [2]string{HeaderKeyID, id.KeyID})
	}
	if id.Name != "" {
		h = append(h, [2]string{HeaderKeyName, id.Name})
	}
	if id.UserID != "" {
		h = append(h, [2]string{HeaderUserID, id.UserID})
	}
	if len(id.Permissions) > 0 {
		v := id.Permissions[0]
		for _, p := range id.Permissions[1:] {
			v += "," + p
		}
		h = append(h, [2]string{HeaderPermissions, v})
	}
	id.upstream = h
}
