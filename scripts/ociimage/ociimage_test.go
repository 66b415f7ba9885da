package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readBlob reads a blob the way a registry client does and checks it against its descriptor:
// the file named by the digest holds bytes of that digest and size.
func readBlob(t *testing.T, dir string, d Descriptor) []byte {
	t.Helper()
	hexDigest, ok := strings.CutPrefix(d.Digest, "sha256:")
	if !ok {
		t.Fatalf("digest %q is not sha256", d.Digest)
	}
	b, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", hexDigest))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != hexDigest || int64(len(b)) != d.Size {
		t.Fatalf("blob %s: content has digest %x and size %d, descriptor says %s and %d", d.MediaType, sum, len(b), d.Digest, d.Size)
	}
	return b
}

// The layout is what Istio's fetcher and registry tools expect: oci-layout, an index naming
// the tag, a manifest whose config and single layer have the Wasm artifact media types, every
// digest and size matching its blob, the layer being the module itself, and nothing else.
func TestImageLayout(t *testing.T) {
	wasm := append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte{7}, 1000)...)
	dir := filepath.Join(t.TempDir(), "img")
	man, err := Build(dir, wasm, "v1.2.3", "portcullis")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "oci-layout")); string(b) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %q", b)
	}
	var idx Index
	b, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	if idx.SchemaVersion != 2 || idx.MediaType != IndexMediaType || len(idx.Manifests) != 1 {
		t.Fatalf("index.json = %s", b)
	}
	md := idx.Manifests[0]
	if md.MediaType != ManifestMediaType || md.Annotations[refNameAnnotation] != "v1.2.3" || md.Digest != man.Digest {
		t.Fatalf("index entry %+v, want the manifest %s tagged v1.2.3", md, man.Digest)
	}
	var m Manifest
	if err := json.Unmarshal(readBlob(t, dir, md), &m); err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != 2 || m.MediaType != ManifestMediaType || m.Config.MediaType != ConfigMediaType {
		t.Fatalf("manifest %+v", m)
	}
	var cfg moduleConfig
	if err := json.Unmarshal(readBlob(t, dir, m.Config), &cfg); err != nil || len(cfg.RootIDs) != 1 || cfg.RootIDs[0] != "portcullis" {
		t.Fatalf("config %+v, %v", cfg, err)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != LayerMediaType {
		t.Fatalf("layers %+v, want one %s", m.Layers, LayerMediaType)
	}
	if got := readBlob(t, dir, m.Layers[0]); !bytes.Equal(got, wasm) {
		t.Fatal("the layer is not the module")
	}
	blobs, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if len(blobs) != 3 {
		t.Errorf("%d blobs, want 3 (config, layer, manifest)", len(blobs))
	}

	// The archive holds the same files, and building twice gives the same bytes.
	var tar1, tar2 bytes.Buffer
	if err := Archive(dir, &tar1); err != nil {
		t.Fatal(err)
	}
	dir2 := filepath.Join(t.TempDir(), "img")
	if _, err := Build(dir2, wasm, "v1.2.3", "portcullis"); err != nil {
		t.Fatal(err)
	}
	Archive(dir2, &tar2)
	if !bytes.Equal(tar1.Bytes(), tar2.Bytes()) {
		t.Error("two builds of one module differ: the image is not reproducible")
	}
	tr := tar.NewReader(&tar1)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		content, _ := io.ReadAll(tr)
		if disk, _ := os.ReadFile(filepath.Join(dir, h.Name)); !bytes.Equal(disk, content) {
			t.Errorf("%s differs between the archive and the layout", h.Name)
		}
	}
	if len(names) != 5 || names[len(names)-1] != "oci-layout" {
		t.Errorf("archive holds %q", names)
	}
}

func TestImageRefusesWhatIsNotAModule(t *testing.T) {
	if _, err := Build(filepath.Join(t.TempDir(), "x"), []byte("MZ not wasm"), "v", "r"); err == nil {
		t.Fatal("built an image of a file that is not WebAssembly")
	}
}
