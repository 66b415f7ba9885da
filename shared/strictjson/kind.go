package strictjson

// Kind is the JSON type of a value.
type Kind uint8

// The JSON kinds. Invalid is what Peek reports at malformed input.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
	Invalid
)

var kindNames = [...]string{"null", "boolean", "number", "string", "array", "object", "invalid"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}
