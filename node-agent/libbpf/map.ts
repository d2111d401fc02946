/**
 * A loaded BPF map: element and batch operations on its fd. Keys and values are raw bytes of exactly the map's
 * key/value size (per-CPU maps: one value slot, rounded up to 8 bytes, per possible CPU).
 */
import { checkRc, errorFor } from './check.js';
import { Errno, LibbpfError } from './errors.js';
import type { BatchOptsStruct, Native, NativePtr } from './native.js';

/** BPF_ANY / BPF_NOEXIST / BPF_EXIST update flags. */
export const UpdateFlags = { ANY: 0, NOEXIST: 1, EXIST: 2 } as const;

/** A map of a loaded object (or a map fd obtained from a pin). Not owned: the object closes it. */
export class BpfMap {
  readonly name: string;
  readonly fd: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** Bytes of one lookup value: valueSize, or for per-CPU maps round_up(valueSize, 8) × possible CPUs. */
  readonly lookupValueSize: number;
  /** @internal */
  readonly handle: NativePtr;
  private readonly native: Native;
  private readonly batchOpts: BatchOptsStruct;

  /** @internal Use BpfObject.map(name). */
  constructor(native: Native, handle: NativePtr, name: string, perCpuSlots: number) {
    this.native = native;
    this.handle = handle;
    this.name = name;
    this.fd = checkRc('bpf_map__fd', native.bpf_map__fd(handle), name);
    this.keySize = native.bpf_map__key_size(handle);
    this.valueSize = native.bpf_map__value_size(handle);
    this.maxEntries = native.bpf_map__max_entries(handle);
    this.lookupValueSize = perCpuSlots > 0 ? Math.ceil(this.valueSize / 8) * 8 * perCpuSlots : this.valueSize;
    this.batchOpts = { sz: native.sizes.batchOpts, elem_flags: 0, flags: 0 };
  }

  private checkKey(key: Uint8Array): void {
    if (key.length !== this.keySize) {
      throw new LibbpfError('bpf_map', Errno.EINVAL, `${this.name}: key is ${key.length} bytes, the map wants ${this.keySize}`);
    }
  }

  /**
   * Write one element.
   * @throws LibbpfError (E2BIG when the map is full, EEXIST/ENOENT with NOEXIST/EXIST flags).
   */
  update(key: Uint8Array, value: Uint8Array, flags: number = UpdateFlags.ANY): void {
    this.checkKey(key);
    if (value.length !== this.lookupValueSize) {
      throw new LibbpfError('bpf_map_update_elem', Errno.EINVAL, `${this.name}: value is ${value.length} bytes, the map wants ${this.lookupValueSize}`);
    }
    checkRc('bpf_map_update_elem', this.native.bpf_map_update_elem(this.fd, key, value, flags), this.name);
  }

  /** Read one element; undefined when the key is absent. @throws LibbpfError on other failures. */
  lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const value = new Uint8Array(this.lookupValueSize);
    const rc = this.native.bpf_map_lookup_elem(this.fd, key, value);
    if (rc === -Errno.ENOENT) return undefined;
    checkRc('bpf_map_lookup_elem', rc, this.name);
    return value;
  }

  /** Delete one element; false when it was absent. @throws LibbpfError on other failures. */
  delete(key: Uint8Array): boolean {
    this.checkKey(key);
    const rc = this.native.bpf_map_delete_elem(this.fd, key);
    if (rc === -Errno.ENOENT) return false;
    checkRc('bpf_map_delete_elem', rc, this.name);
    return true;
  }

  /** The key after `key` (the first key when `key` is null); undefined at the end. */
  nextKey(key: Uint8Array | null): Uint8Array | undefined {
    if (key) this.checkKey(key);
    const next = new Uint8Array(this.keySize);
    const rc = this.native.bpf_map_get_next_key(this.fd, key, next);
    if (rc === -Errno.ENOENT) return undefined;
    checkRc('bpf_map_get_next_key', rc, this.name);
    return next;
  }

  /**
   * Every key, collected before returning (so deleting while iterating the result is safe).
   * @param limit stop after this many keys (default: maxEntries).
   */
  keys(limit = this.maxEntries): Uint8Array[] {
    const out: Uint8Array[] = [];
    let key = this.nextKey(null);
    while (key && out.length < limit) {
      out.push(key);
      key = this.nextKey(key);
    }
    return out;
  }

  /**
   * BPF_MAP_UPDATE_BATCH of `count` elements packed in `keys`/`values`.
   * @returns false when this map type has no batch operations (EINVAL/EOPNOTSUPP before any element was written):
   *          the caller falls back to `update`.
   * @throws LibbpfError on any other failure (the error says how many elements were written).
   */
  updateBatch(keys: Uint8Array, values: Uint8Array, count: number, flags: number = UpdateFlags.ANY): boolean {
    if (count === 0) return true;
    if (keys.length !== count * this.keySize || values.length !== count * this.lookupValueSize) {
      throw new LibbpfError('bpf_map_update_batch', Errno.EINVAL, `${this.name}: batch buffers do not hold ${count} elements`);
    }
    const n = new Uint32Array([count]);
    const rc = this.native.bpf_map_update_batch(this.fd, keys, values, n, { ...this.batchOpts, elem_flags: flags });
    if (rc < 0 && n[0] === 0 && (rc === -Errno.EINVAL || rc === -Errno.EOPNOTSUPP || rc === -Errno.ENOTSUPP)) return false;
    if (rc < 0) throw errorFor('bpf_map_update_batch', -rc, `${this.name}, ${n[0]} of ${count} written`);
    return true;
  }

  /**
   * Read every element with BPF_MAP_LOOKUP_BATCH, `chunk` at a time.
   * @returns the elements, or undefined when this map type has no batch lookup (fall back to keys()+lookup()).
   */
  lookupBatch(chunk = 4096): { keys: Uint8Array[]; values: Uint8Array[] } | undefined {
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    const kbuf = new Uint8Array(chunk * this.keySize);
    const vbuf = new Uint8Array(chunk * this.lookupValueSize);
    const token = new Uint8Array(Math.max(this.keySize, 8));
    let first = true;
    for (;;) {
      const n = new Uint32Array([chunk]);
      const rc = this.native.bpf_map_lookup_batch(this.fd, first ? null : token, token, kbuf, vbuf, n, this.batchOpts);
      if (rc < 0 && rc !== -Errno.ENOENT) {
        if (first && (rc === -Errno.EINVAL || rc === -Errno.EOPNOTSUPP || rc === -Errno.ENOTSUPP)) return undefined;
        throw errorFor('bpf_map_lookup_batch', -rc, this.name);
      }
      const got = n[0] as number;
      for (let i = 0; i < got; i++) {
        keys.push(kbuf.slice(i * this.keySize, (i + 1) * this.keySize));
        values.push(vbuf.slice(i * this.lookupValueSize, (i + 1) * this.lookupValueSize));
      }
      if (rc === -Errno.ENOENT) return { keys, values };
      first = false;
    }
  }

  /**
   * BPF_MAP_DELETE_BATCH of `count` keys packed in `keys`.
   * @returns false when this map type has no batch delete (nothing deleted): the caller falls back to `delete`.
   * @throws LibbpfError on any other failure (ENOENT when a key is absent; the message says how many were deleted).
   */
  deleteBatch(keys: Uint8Array, count: number): boolean {
    if (count === 0) return true;
    if (keys.length !== count * this.keySize) {
      throw new LibbpfError('bpf_map_delete_batch', Errno.EINVAL, `${this.name}: batch buffer does not hold ${count} keys`);
    }
    const n = new Uint32Array([count]);
    const rc = this.native.bpf_map_delete_batch(this.fd, keys, n, this.batchOpts);
    if (rc < 0 && n[0] === 0 && (rc === -Errno.EINVAL || rc === -Errno.EOPNOTSUPP || rc === -Errno.ENOTSUPP)) return false;
    if (rc < 0) throw errorFor('bpf_map_delete_batch', -rc, `${this.name}, ${n[0]} of ${count} deleted`);
    return true;
  }

  /** Every key: one BPF_MAP_LOOKUP_BATCH per 4,096 where the map type supports it, else key by key. */
  allKeys(): Uint8Array[] {
    return this.lookupBatch()?.keys ?? this.keys();
  }

  /** Delete the given keys: one batch call where supported, else one by one (absent keys are skipped). @returns how many. */
  deleteKeys(keys: readonly Uint8Array[]): number {
    if (keys.length === 0) return 0;
    const packed = new Uint8Array(keys.length * this.keySize);
    keys.forEach((k, i) => packed.set(k, i * this.keySize));
    if (this.deleteBatch(packed, keys.length)) return keys.length;
    let deleted = 0;
    for (const k of keys) if (this.delete(k)) deleted++;
    return deleted;
  }

  /**
   * Delete those of `keys` that exist: one BPF_MAP_DELETE_BATCH where the map type supports it, resumed after each
   * absent key (the batch stops at the first ENOENT), else key by key.
   * @returns how many were deleted
   * @throws LibbpfError on any failure other than an absent key
   */
  deletePresent(keys: readonly Uint8Array[]): number {
    let deleted = 0;
    let start = 0;
    while (start < keys.length) {
      const rest = keys.slice(start);
      const packed = new Uint8Array(rest.length * this.keySize);
      rest.forEach((k, i) => {
        this.checkKey(k);
        packed.set(k, i * this.keySize);
      });
      const n = new Uint32Array([rest.length]);
      const rc = this.native.bpf_map_delete_batch(this.fd, packed, n, this.batchOpts);
      if (rc >= 0) return deleted + rest.length;
      const done = n[0] as number;
      if (done === 0 && (rc === -Errno.EINVAL || rc === -Errno.EOPNOTSUPP || rc === -Errno.ENOTSUPP)) {
        for (const k of rest) if (this.delete(k)) deleted++;
        return deleted;
      }
      if (rc !== -Errno.ENOENT) throw errorFor('bpf_map_delete_batch', -rc, `${this.name}, ${deleted + done} of ${keys.length} deleted`);
      deleted += done;
      start += done + 1; // skip the absent key
    }
    return deleted;
  }

  /** Delete every element. @returns how many were deleted. */
  clear(): number {
    return this.deleteKeys(this.allKeys());
  }
}
