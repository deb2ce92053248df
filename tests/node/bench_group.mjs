// bench_group.mjs — the peers of `quern group` for bench/bench_group.sh:
// DuckDB's best rewrite (list_sort(list({ts, value, quality, label})), then
// split into list columns) and Polars (withRowIndex -> groupBy ->
// agg(col.sortBy([ts, pos]))), each writing one Parquet file of one row per
// probe. Prints the query's wall-clock seconds (node's start and the
// module load are not counted), or "oom" / "error" with the message.
// usage: node bench_group.mjs duckdb|polars THREADS IN.parquet OUT.parquet
const [peer, threads, input, output] = process.argv.slice(2);
const cols = ['ts', 'value', 'quality', 'label'];
try {
  if (peer === 'duckdb') {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    await con.run(`SET threads = ${Number(threads)}`);
    const split = cols.map((c) => `list_transform(l, x -> x.${c}) AS ${c}`).join(', ');
    const struct = cols.map((c) => `'${c}': ${c}`).join(', ');
    const t0 = performance.now();
    await con.run(`COPY (SELECT probe_id, len(l)::BIGINT AS n, ${split} FROM (
        SELECT probe_id, list_sort(list({${struct}})) AS l FROM read_parquet('${input}') GROUP BY probe_id))
      TO '${output}' (FORMAT parquet)`);
    console.log(((performance.now() - t0) / 1000).toFixed(3));
  } else {
    process.env.POLARS_MAX_THREADS = threads;
    const pl = (await import('nodejs-polars')).default;
    const t0 = performance.now();
    const df = await pl.scanParquet(input).withRowIndex('pos').groupBy('probe_id')
      .agg(pl.len().alias('n'), ...cols.map((c) => pl.col(c).sortBy(['ts', 'pos']))).collect();
    df.writeParquet(output);
    console.log(((performance.now() - t0) / 1000).toFixed(3));
  }
} catch (e) {
  const m = String(e && e.message ? e.message : e).replace(/\s+/g, ' ').slice(0, 200);
  console.log(/out of memory|oom/i.test(m) ? `oom ${m}` : `error ${m}`);
}
