// Command ociimage packs the compiled filter as an OCI image that Istio's WasmPlugin (and any
// OCI registry) accepts, without docker: an OCI image layout directory and the same as a tar
// archive, for `skopeo copy oci-archive:…` or `oras cp --from-oci-layout …` to a registry.
//
//	go run ./scripts/ociimage -wasm dist/portcullis.wasm -tag v1 -out dist/portcullis-oci
//
// The image is the Wasm OCI artifact format Istio's image fetcher reads (the "oci" variant of
// solo-io's wasm image spec, also what `oras push … :application/vnd.module.wasm.content.layer.v1+wasm`
// produces): one layer, the module itself, media type LayerMediaType; a small JSON config of
// ConfigMediaType. The output is reproducible: no timestamps, so the same module gives the
// same digests.
package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// Media types of the Wasm OCI artifact and of the OCI image layout.
const (
	LayerMediaType    = "application/vnd.module.wasm.content.layer.v1+wasm"
	ConfigMediaType   = "application/vnd.module.wasm.config.v1+json"
	ManifestMediaType = "application/vnd.oci.image.manifest.v1+json"
	IndexMediaType    = "application/vnd.oci.image.index.v1+json"
	// refNameAnnotation names a manifest in index.json: the tag in "layout:tag" references.
	refNameAnnotation = "org.opencontainers.image.ref.name"
)

// Descriptor points at a blob by digest (OCI image spec, descriptor).
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Manifest is an OCI image manifest.
type Manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        Descriptor        `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// Index is an OCI image index (index.json of a layout).
type Index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []Descriptor `json:"manifests"`
}

// moduleConfig is the image's config blob: what the module is, for a person or a tool looking
// at the image. Istio does not read it.
type moduleConfig struct {
	Type    string   `json:"type"`
	RootIDs []string `json:"rootIds"`
}

// Build lays out the image in dir (created; must not exist or be empty) and returns the
// manifest's descriptor: its digest is what WasmPlugin.sha256 pins for an oci:// URL.
func Build(dir string, wasm []byte, tag, rootID string) (Descriptor, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return Descriptor{}, errors.New("not a WebAssembly module (no \\0asm magic)")
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return Descriptor{}, fmt.Errorf("%s is not empty", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return Descriptor{}, err
	}
	put := func(mediaType string, b []byte) (Descriptor, error) {
		sum := sha256.Sum256(b)
		d := Descriptor{MediaType: mediaType, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(b))}
		return d, os.WriteFile(filepath.Join(dir, "blobs", "sha256", hex.EncodeToString(sum[:])), b, 0o644)
	}
	cfgJSON, _ := json.Marshal(moduleConfig{Type: "envoy_proxy", RootIDs: []string{rootID}})
	cfg, err := put(ConfigMediaType, cfgJSON)
	if err != nil {
		return Descriptor{}, err
	}
	layer, err := put(LayerMediaType, wasm)
	if err != nil {
		return Descriptor{}, err
	}
	layer.Annotations = map[string]string{"org.opencontainers.image.title": "plugin.wasm"}
	m, _ := json.Marshal(Manifest{SchemaVersion: 2, MediaType: ManifestMediaType, Config: cfg, Layers: []Descriptor{layer},
		Annotations: map[string]string{"org.opencontainers.image.title": "portcullis", "org.opencontainers.image.version": tag}})
	man, err := put(ManifestMediaType, m)
	if err != nil {
		return Descriptor{}, err
	}
	man.Annotations = map[string]string{refNameAnnotation: tag}
	idx, _ := json.Marshal(Index{SchemaVersion: 2, MediaType: IndexMediaType, Manifests: []Descriptor{man}})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), idx, 0o644); err != nil {
		return Descriptor{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return Descriptor{}, err
	}
	man.Annotations = nil
	return man, nil
}

// Archive writes the layout in dir as a tar stream (an "oci-archive"), files in a fixed order
// with fixed metadata so the archive is reproducible.
func Archive(dir string, w io.Writer) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	tw := tar.NewWriter(w)
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	return tw.Close()
}

func main() {
	wasmPath := flag.String("wasm", "dist/portcullis.wasm", "the compiled filter")
	out := flag.String("out", "dist/portcullis-oci", "layout directory to create; the archive is this plus .tar")
	tag := flag.String("tag", "latest", "the image's tag (its ref name in the layout)")
	rootID := flag.String("root-id", "portcullis", "the filter's root id, recorded in the config")
	flag.Parse()
	if err := run(*wasmPath, *out, *tag, *rootID); err != nil {
		fmt.Fprintln(os.Stderr, "ociimage:", err)
		os.Exit(1)
	}
}

func run(wasmPath, out, tag, rootID string) error {
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	man, err := Build(out, wasm, tag, rootID)
	if err != nil {
		return err
	}
	f, err := os.Create(out + ".tar")
	if err != nil {
		return err
	}
	if err := Archive(out, f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("%s and %s.tar: tag %s, manifest %s (WasmPlugin sha256: %s)\n", out, out, tag, man.Digest, man.Digest[len("sha256:"):])
	return nil
}
