/**
 * `troupe cluster status <database url>`: what each runner of a cluster holds, read from the cluster's database
 * (the `troupe_cluster_status` table every runner reports to; see docs/cluster.md).
 *
 * @example
 * ```ts
 * const text = yield* ClusterModule.status("postgres://troupe@db/troupe")
 * ```
 */
import { existsSync } from "node:fs"
import { ClusterStatus, Storage } from "@troupe/runtime"
import { Duration, Effect, Schema } from "effect"

/** The database could not be read. */
export class ClusterUnreadable extends Schema.TaggedError<ClusterUnreadable>()("ClusterUnreadable", {
  url: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `Cannot read the cluster's status at ${this.url}: ${this.detail}. Check the URL (postgres://user:password@host:port/db, or a SQLite file) and that the database is up`
  }
}

/** Shard ids as ranges: `1-4, 9, 12-13`. */
export const ranges = (ids: ReadonlyArray<number>): string => {
  const out: Array<string> = []
  let i = 0
  while (i < ids.length) {
    let j = i
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++
    out.push(i === j ? `${ids[i]}` : `${ids[i]}-${ids[j]}`)
    i = j + 1
  }
  return out.join(", ")
}

/** The status of the cluster on a database, as the text `troupe cluster status` prints. */
export const status = (url: string): Effect.Effect<string, ClusterUnreadable> => {
  const postgres = /^postgres(ql)?:\/\//.test(url)
  const filename = url.replace(/^sqlite:(\/\/)?/, "")
  const shown = url.replace(/\/\/[^@]*@/, "//")
  // opening a SQLite file that is not there would create an empty database (a typo would report "no runner")
  if (!postgres && filename !== ":memory:" && !existsSync(filename))
    return Effect.fail(new ClusterUnreadable({ url: shown, detail: `there is no file ${filename}` }))
  const client = postgres ? Storage.postgresClient({ url, maxConnections: 1 }) : Storage.sqliteClient({ filename })
  return ClusterStatus.read.pipe(
    Effect.provide(client),
    Effect.mapError(
      (error) => new ClusterUnreadable({ url: shown, detail: String((error as Error)?.message ?? error) })
    ),
    Effect.map((runners) => {
      if (runners.length === 0) return `No runner has reported to ${shown}.`
      const now = Date.now()
      const gone = Duration.toMillis(ClusterStatus.staleAfter)
      const live = runners.filter((r) => now - r.updatedAt <= gone)
      const types = [...new Set(runners.flatMap((r) => Object.keys(r.actors)))].sort()
      const lines = runners.map((r) => {
        const state = now - r.updatedAt <= gone ? "up" : `gone (silent ${Math.round((now - r.updatedAt) / 1000)} s)`
        const actors = types.map((t) => `${t}=${r.actors[t] ?? 0}`).join(" ")
        return `${r.address}  ${state}  shards ${r.shards.length} [${ranges(r.shards)}]  buckets ${r.buckets}  actors ${actors || "-"}`
      })
      const shards = live.reduce((n, r) => n + r.shards.length, 0)
      const totals = types.map((t) => `${t}=${live.reduce((n, r) => n + (r.actors[t] ?? 0), 0)}`).join(" ")
      return [
        `Cluster at ${shown}: ${live.length} runner(s) up, ${shards} shard(s) held, active actors ${totals || "-"}`,
        ...lines
      ].join("\n")
    })
  )
}
