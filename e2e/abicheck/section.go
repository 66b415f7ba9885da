package abicheck

import (
	"errors"
	"fmt"
)

// tableAndGlobalImports reads the table and global imports from a module's import section
// (wazero's CompiledModule lists only imported functions and memories). wasm must already
// have been validated; the reader still never indexes past its input.
func tableAndGlobalImports(wasm []byte) ([]Import, error) {
	r := reader{b: wasm}
	if string(r.bytes(4)) != "\x00asm" {
		return nil, errors.New("not a wasm module")
	}
	r.bytes(4) // version
	for r.err == nil && r.off < len(r.b) {
		id := r.byte()
		body := reader{b: r.bytes(int(r.uleb()))}
		if r.err != nil {
			break
		}
		if id == 2 { // the import section
			return body.imports()
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("read sections: %w", r.err)
	}
	return nil, nil
}

func (r *reader) imports() ([]Import, error) {
	var out []Import
	for n := r.uleb(); n > 0 && r.err == nil; n-- {
		mod, name := string(r.bytes(int(r.uleb()))), string(r.bytes(int(r.uleb())))
		switch kind := r.byte(); kind {
		case 0x00: // function: type index
			r.uleb()
		case 0x01: // table: reference type, limits
			r.byte()
			r.limits()
			out = append(out, Import{Module: mod, Name: name, Kind: KindTable})
		case 0x02: // memory: limits
			r.limits()
		case 0x03: // global: value type, mutability
			r.byte()
			r.byte()
			out = append(out, Import{Module: mod, Name: name, Kind: KindGlobal})
		default:
			return nil, fmt.Errorf("import %s.%s: unknown import kind %#x", mod, name, kind)
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("read import section: %w", r.err)
	}
	return out, nil
}

// reader reads the wasm binary format; the first error sticks and later reads return zeros.
type reader struct {
	b   []byte
	off int
	err error
}

var errShort = errors.New("unexpected end of input")

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.off {
		r.err = errShort
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) byte() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

// uleb reads an unsigned LEB128 number of at most 32 bits.
func (r *reader) uleb() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		b := r.byte()
		v |= uint32(b&0x7f) << shift
		if b&0x80 == 0 {
			return v
		}
	}
	if r.err == nil {
		r.err = errors.New("LEB128 number too long")
	}
	return 0
}

// limits reads a table's or memory's limits: a flags byte, the minimum, and the maximum when
// flag bit 0 is set.
func (r *reader) limits() {
	flags := r.byte()
	r.uleb()
	if flags&1 != 0 {
		r.uleb()
	}
}
