// csv_duckdb.mjs — quern reads the CSV that DuckDB writes, and agrees with
// DuckDB's own read_csv: for each numeric column, `quern stats` must equal
// DuckDB's count (and null count), min and max exactly, and sum, avg and
// stddev_pop within 1e-12 (sums relative to the sum of |x|: the bound any
// summation order obeys). Files hold nulls, quoted strings with commas,
// quotes and newlines, int64 extremes, and several morsels; a list of files
// is read as one table. Also checks that quern's types are DuckDB's.
// usage: node csv_duckdb.mjs QUERN WORKDIR   (QN_SRC locates node_modules)
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

const [, , QUERN, WORK] = process.argv;
const require = createRequire(`${process.env.QN_SRC}/tests/node/package.json`);
const { DuckDBInstance } = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run('SET threads = 2');
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS();
const failures = [];
const REL = 1e-12;

const num = (v) => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v);
function close(where, key, got, want, scale) {
  got = Number(num(got));
  want = Number(want);
  if (got === want) return;
  const tol = REL * Math.max(Math.abs(got), Math.abs(want), scale ?? 0);
  if (!(Math.abs(got - want) <= tol)) failures.push(`${where} ${key}: quern ${got} duckdb ${want}`);
}
function exact(where, key, got, want) {
  if (String(got) !== String(want)) failures.push(`${where} ${key}: quern ${got} duckdb ${want}`);
}

// Integers beyond 2^53 stay exact: long integer literals are read as strings.
function quern(args) {
  const text = execFileSync(QUERN, ['stats', '--no-progress', ...args], { encoding: 'utf8' });
  return JSON.parse(text.replace(/(:\s*)(-?\d{16,})(?=\s*[,}\n])/g, '$1"$2"'));
}

async function compare(label, files) {
  const list = `[${files.map((f) => `'${f}'`).join(', ')}]`;
  const desc = await rows(`DESCRIBE SELECT * FROM read_csv(${list})`);
  const q = quern(files);
  const total = (await rows(`SELECT count(*)::varchar AS n FROM read_csv(${list})`))[0].n;
  exact(label, 'rows', q.rows, total);
  for (const { column_name: c, column_type: t } of desc) {
    const qc = q.columns[c];
    const where = `${label}:${c}`;
    if (t === 'VARCHAR') {
      if (qc) failures.push(`${where}: a string column reported as numeric`);
      continue;
    }
    const want = { DOUBLE: 'float64', BIGINT: 'int64' }[t] ?? t;
    if (!qc) { failures.push(`${where}: missing from quern stats (DuckDB: ${t})`); continue; }
    exact(where, 'type', qc.type, want);
    const e = `"${c}"`;
    const [d] = await rows(`SELECT count(${e})::varchar AS count, (count(*) - count(${e}))::varchar AS nulls,
        min(${e})::varchar AS min_s, max(${e})::varchar AS max_s, min(${e})::double AS min, max(${e})::double AS max,
        sum(${e})::varchar AS sum_s, sum(${e})::double AS sum, sum(abs(${e}::double)) AS abssum,
        avg(${e}) AS avg, stddev_pop(${e}) AS std,
        fsum(${e}) AS fsum,
        (SELECT sqrt(fsum(power(${e} - m, 2)) / count(${e})) FROM read_csv(${list}),
           (SELECT fsum(${e}) / count(${e}) AS m FROM read_csv(${list}))) AS std2
        FROM read_csv(${list})`);
    exact(where, 'count', qc.count, d.count);
    exact(where, 'null', qc.null ?? 0, d.nulls);
    if (qc.type === 'int64') {
      exact(where, 'min', qc.min, d.min_s);
      exact(where, 'max', qc.max, d.max_s);
      exact(where, 'sum', qc.sum, d.sum_s ?? '0');
    } else {
      exact(where, 'min', Number(num(qc.min)), d.min);
      exact(where, 'max', Number(num(qc.max)), d.max);
      close(where, 'sum', qc.sum, d.fsum ?? 0, d.abssum);
    }
    if (d.count !== '0') {
      close(where, 'mean', qc.mean, d.avg, d.abssum / Number(d.count));
      // DuckDB's stddev_pop is a one-pass update, off by ~1e-11 on 1e6 + N(0,1)
      // (checked against exact rationals): the 1e-12 oracle is DuckDB's own
      // two-pass, compensated sqrt(fsum((x - fsum(x)/n)^2) / n); stddev_pop
      // must agree to 1e-9.
      close(where, 'std', qc.std, d.std2);
      if (Math.abs(Number(qc.std) - d.std) > 1e-9 * Math.abs(d.std))
        failures.push(`${where} std: quern ${qc.std} duckdb stddev_pop ${d.std}`);
    }
  }
}

// DuckDB writes the files.
const mk = async (name, n, seed) => {
  const path = `${WORK}/${name}.csv`;
  await con.run(`SELECT setseed(${seed})`);
  await con.run(`COPY (SELECT
      random() * 1000 - 500 AS u,
      1e6 + sqrt(-2 * ln(random())) * cos(2 * pi() * random()) AS near_1e6,
      CASE WHEN i % 17 = 3 THEN NULL ELSE (random() - 0.5) * 1e-200 END AS tiny_nulls,
      CASE WHEN i % 5 = 0 THEN NULL ELSE (i * 7919) % 1000003 - 500000 END AS int_nulls,
      CASE WHEN i = 11 THEN 9223372036854775807 WHEN i = 12 THEN -9223372036854775808 ELSE i END AS extremes,
      'txt ' || i || CASE WHEN i % 3 = 0 THEN ', with "quotes"' WHEN i % 3 = 1 THEN E'\\nnew line' ELSE '' END AS s,
      exp((random() - 0.5) * 200) AS wide
    FROM range(${n}) t(i)) TO '${path}' (HEADER, DELIMITER ',')`);
  return path;
};

await con.run('SET threads = 1'); // random() with setseed is repeatable on one thread
const a = await mk('a', 200_001, 0.25);
const b = await mk('b', 70_000, 0.5);
const c = await mk('c', 3, 0.75); // tiny: a column of nulls only would be float64 here and int64 in a (see docs/csv.md)
await con.run('SET threads = 2');
await compare('a', [a]);
await compare('b', [b]);
await compare('c', [c]);
await compare('a+b+c', [a, b, c]);

// DuckDB's CRLF output and a file without a final newline
const crlf = `${WORK}/crlf.csv`;
await con.run(`COPY (SELECT i::double / 3 AS x, -i AS k FROM range(100000) t(i))
  TO '${crlf}' (HEADER, DELIMITER ',', NEW_LINE '\\r\\n')`);
await compare('crlf', [crlf]);

if (failures.length) {
  console.log(failures.slice(0, 40).join('\n'));
  console.log(`${failures.length} mismatch(es)`);
  process.exit(1);
}
console.log('csv duckdb oracle: all values match');
