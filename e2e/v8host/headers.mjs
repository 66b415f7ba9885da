// HeaderMap is an ordered header list as Envoy keeps it (and e2e/wasmhost/headers.go): lower-case
// names, pseudo-headers first, repeated names kept as separate entries in arrival order.
export class HeaderMap {
  constructor(pairs = []) {
    this.pairs = [];
    for (const [k, v] of pairs) this.add(k, v);
  }

  get length() {
    return this.pairs.length;
  }

  // get returns the FIRST value of name, as Envoy's get_header_map_value does, or undefined.
  get(name) {
    name = lower(name);
    for (const [k, v] of this.pairs) if (k === name) return v;
    return undefined;
  }

  // add appends a value; a pseudo-header goes after the existing pseudo-headers.
  add(name, value) {
    name = lower(name);
    if (!name.startsWith(':')) {
      this.pairs.push([name, value]);
      return;
    }
    let i = 0;
    while (i < this.pairs.length && this.pairs[i][0].startsWith(':')) i++;
    this.pairs.splice(i, 0, [name, value]);
  }

  // replace sets name to exactly one value: the first entry is updated in place and the others
  // removed; an absent name is added.
  replace(name, value) {
    name = lower(name);
    let found = false;
    const out = [];
    for (const kv of this.pairs) {
      if (kv[0] !== name) {
        out.push(kv);
      } else if (!found) {
        found = true;
        out.push([name, value]);
      }
    }
    this.pairs = out;
    if (!found) this.add(name, value);
  }

  // remove drops every value of name.
  remove(name) {
    name = lower(name);
    this.pairs = this.pairs.filter(([k]) => k !== name);
  }

  clone() {
    return this.pairs.map(([k, v]) => [k, v]);
  }

  // regular returns a copy without pseudo-headers.
  regular() {
    return this.pairs.filter(([k]) => !k.startsWith(':')).map(([k, v]) => [k, v]);
  }

  // size is the sum of name and value lengths (proxy_get_header_map_size).
  size() {
    let n = 0;
    for (const [k, v] of this.pairs) n += k.length + v.length;
    return n;
  }
}

// lower lower-cases ASCII letters only, as Envoy's header maps do.
function lower(name) {
  return /[A-Z]/.test(name) ? name.replace(/[A-Z]/g, (c) => c.toLowerCase()) : name;
}

// validName and validValue keep header injection out of the maps, as the wazero host does.
export function validName(name) {
  if (name === '') return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || (c === 0x3a && i > 0)) return false;
  }
  return true;
}

export function validValue(value) {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === 0x0d || c === 0x0a) return false;
  }
  return true;
}
