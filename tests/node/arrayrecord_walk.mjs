// arrayrecord_walk.mjs — an ArrayRecord reader written for the tests from
// the format description alone (google/riegeli
// doc/riegeli_records_file_format.md, array_record cpp/layout.proto;
// FORMATS.md section 5), sharing no code with quern. Hashes come from npm
// highwayhasher (nickbabcock's Rust HighwayHash, not Google's C++ one).
//
// usage: node arrayrecord_walk.mjs FILE...
// Walks each file from byte 0: the 64-byte signature; every chunk header
// (hash), its data (hash), its padding (zeros, as long as the format's
// chunk-end formula says); every block header at a multiple of 64 KiB
// (hash, previous_chunk, next_chunk against the chunk it interrupts);
// decodes simple chunks (uncompressed); reads the postscript at size -
// 64 KiB (3 copies, footer offset, magic), the footer (metadata and one
// index entry per data chunk, checked against the chunks walked). Prints
// one JSON object per file: its records (base64), writer options, and how
// many block headers it met inside chunk headers and inside data. Exits 1
// naming the file, the byte and what is wrong.
import { readFileSync } from 'node:fs';
import { HighwayHash } from 'highwayhasher';

const BLOCK = 65536n, BH = 24n, CH = 40n, USABLE = BLOCK - BH;
const MAGIC = 0x71930e704fdae05en;
const key = new Uint8Array(32);
const kv = new DataView(key.buffer);
[0x2f696c6567656952n, 0x0a7364726f636572n, 0x2f696c6567656952n, 0x0a7364726f636572n].forEach(
  (k, i) => kv.setBigUint64(8 * i, k, true));
const hasher = await HighwayHash.loadModule();
const hash = (bytes) => new DataView(hasher.hash64(key, bytes).buffer).getBigUint64(0, true);

function fail(file, msg) {
  console.error(`arrayrecord_walk: ${file}: ${msg}`);
  process.exit(1);
}

function varint(buf, pos) { // -> [value (BigInt), next pos]
  let v = 0n, shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('varint past the end');
    const b = buf[pos++];
    v |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [v, pos];
    shift += 7n;
  }
}

// protobuf fields of a message: [[field, wire, value(BigInt) or bytes]]
function fields(buf) {
  const out = [];
  let p = 0;
  while (p < buf.length) {
    let tag, v;
    [tag, p] = varint(buf, p);
    const f = Number(tag >> 3n), w = Number(tag & 7n);
    if (w === 0) { [v, p] = varint(buf, p); out.push([f, w, v]); }
    else if (w === 2) { [v, p] = varint(buf, p); out.push([f, w, buf.subarray(p, p + Number(v))]); p += Number(v); }
    else throw new Error(`wire type ${w}`);
  }
  return out;
}

const remaining = (pos) => (BLOCK - pos % BLOCK) % BLOCK;
// The format's implementation notes, in BigInt arithmetic.
function chunkEnd(begin, dataSize, numRecords) {
  const size = CH + dataSize;
  const overhead = (size + (begin + USABLE - 1n) % BLOCK) / USABLE;
  const a = begin + size + overhead * BH;
  const r = remaining(begin + numRecords);
  const b = begin + numRecords + (r > USABLE - 1n ? r - (USABLE - 1n) : 0n);
  return a > b ? a : b;
}

function walkFile(file) {
  const buf = readFileSync(file);
  const size = BigInt(buf.length);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const u64 = (pos) => dv.getBigUint64(Number(pos), true);
  if (size < BLOCK || size % BLOCK !== 0n) fail(file, `size ${size} is not whole 64 KiB blocks`);
  const signature = Buffer.from('83af70d10d884a3f0000000000000000400000000000000091bac23c9287e1a9' +
    '0000000000000000e19f13c0e9b1c372' + '73' + '00'.repeat(15), 'hex');
  if (!buf.subarray(0, 64).equals(signature)) fail(file, 'the first 64 bytes are not the signature');
  let inHeader = 0, inData = 0;
  // reads one chunk at begin: its header fields, data, end
  function chunk(begin) {
    const logical = []; // the chunk's bytes without block headers, up to its end
    let pos = begin;
    const take = (n, what) => {
      const out = Buffer.alloc(Number(n));
      let o = 0n;
      while (o < n) {
        if (pos % BLOCK === 0n) {
          if (what === 'header') inHeader += o > 0n ? 1 : 0; else if (o > 0n) inData++;
          pos += BH;
        }
        const k = n - o < remaining(pos) ? n - o : remaining(pos);
        if (pos + k > size) fail(file, `chunk at ${begin} runs past the end`);
        buf.copy(out, Number(o), Number(pos), Number(pos + k));
        o += k; pos += k;
      }
      return out;
    };
    const h = take(CH, 'header');
    const hv = new DataView(h.buffer, h.byteOffset, 40);
    if (hash(h.subarray(8, 40)) !== hv.getBigUint64(0, true)) fail(file, `chunk at ${begin}: header hash`);
    const dataSize = hv.getBigUint64(8, true), type = h[24];
    const numRecords = hv.getBigUint64(24, true) >> 8n, decoded = hv.getBigUint64(32, true);
    const data = take(dataSize, 'data');
    if (hash(data) !== hv.getBigUint64(16, true)) fail(file, `chunk at ${begin}: data hash`);
    const end = chunkEnd(begin, dataSize, numRecords);
    while (pos < end) { // padding: zeros
      if (pos % BLOCK === 0n) pos += BH;
      const k = end - pos < remaining(pos) ? end - pos : remaining(pos);
      if (buf.subarray(Number(pos), Number(pos + k)).some((b) => b !== 0)) fail(file, `chunk at ${begin}: padding not zero`);
      pos += k;
    }
    // block headers within [begin, end)
    for (let b = (begin + BLOCK - 1n) / BLOCK * BLOCK; b < end; b += BLOCK) {
      if (hash(buf.subarray(Number(b) + 8, Number(b) + 24)) !== u64(b)) fail(file, `block header at ${b}: hash`);
      if (u64(b + 8n) !== b - begin || u64(b + 16n) !== end - b) fail(file, `block header at ${b}: pointers`);
    }
    return { begin, end, type, numRecords, decoded, data };
  }
  function records(c) { // a simple chunk's records
    const d = c.data;
    if (d[0] !== 0) fail(file, `chunk at ${c.begin}: compression ${d[0]} (only uncompressed is read here)`);
    let [ss, p] = varint(d, 1);
    const sizesEnd = p + Number(ss);
    const out = [];
    let v = sizesEnd;
    for (let i = 0n; i < c.numRecords; i++) {
      let s;
      [s, p] = varint(d, p);
      out.push(d.subarray(v, v + Number(s)));
      v += Number(s);
    }
    if (p !== sizesEnd || v !== d.length || BigInt(v - sizesEnd) !== c.decoded)
      fail(file, `chunk at ${c.begin}: sizes do not add up`);
    return out;
  }
  // the postscript, then the footer it points to
  const ps = chunk(size - BLOCK);
  const psr = records(ps);
  if (ps.type !== 0x72 || psr.length !== 3) fail(file, 'postscript: not 3 records');
  const footerOffsets = psr.map((r) => {
    const f = fields(r);
    if (f.find((x) => x[0] === 2)?.[2] !== MAGIC) fail(file, 'postscript: magic');
    return f.find((x) => x[0] === 1)[2];
  });
  if (new Set(footerOffsets).size !== 1) fail(file, 'postscript: copies differ');
  const footerAt = footerOffsets[0];
  // every chunk from the signature on
  const dataChunks = [], recs = [];
  let pos = 0n, footer = null, afterFooter = [];
  while (pos < size) {
    const c = chunk(pos);
    if (pos === 0n && c.type !== 0x73) fail(file, 'no signature chunk');
    if (c.type === 0x72 && pos > 0n && pos < footerAt) { dataChunks.push(c); recs.push(...records(c)); }
    else if (pos === footerAt) footer = c;
    else if (pos > 0n) afterFooter.push(c.type);
    pos = c.end;
  }
  if (pos !== size) fail(file, `the last chunk ends at ${pos}`);
  if (!footer) fail(file, 'no chunk at the footer offset');
  // after the footer: padding to the block, the postscript, padding
  if (afterFooter.filter((t) => t !== 0x70).length !== 1) fail(file, 'chunks after the footer');
  const fr = records(footer);
  const meta = fields(fields(fr[0]).find((x) => x[0] === 1)[2]);
  const m = Object.fromEntries(meta.map((x) => [x[0], x[2]]));
  if (m[1] !== 1n || m[2] !== BigInt(dataChunks.length) || m[3] !== BigInt(recs.length))
    fail(file, `footer metadata ${m[1]} ${m[2]} ${m[3]}`);
  if (fr.length !== dataChunks.length + 1) fail(file, 'footer: index entries');
  dataChunks.forEach((c, i) => {
    const e = Object.fromEntries(fields(fr[i + 1]).map((x) => [x[0], x[2]]));
    if (e[1] !== c.begin || e[2] !== c.decoded || e[3] !== c.numRecords) fail(file, `footer: entry ${i}`);
  });
  return {
    file, options: Buffer.from(m[4]).toString(), chunks: dataChunks.length, inHeader, inData,
    records: recs.map((r) => Buffer.from(r).toString('base64')),
  };
}

for (const f of process.argv.slice(2)) console.log(JSON.stringify(walkFile(f)));
