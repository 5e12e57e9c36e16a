/**
 * The two real databases durability is tested on: a SQLite file, and a PostgreSQL server the tests start
 * (see `postgres.ts`). `databases()` is called once per test file (at its top level); `fresh()` gives an empty
 * database for one test.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, Storage } from "@troupe/runtime"
import { Effect, type Layer } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll } from "vitest"
import * as Postgres from "./postgres.ts"

export interface Database {
  readonly name: "sqlite" | "postgres"
  /** Where a fresh, empty database is (a file path, or a `postgres://` URL). */
  fresh(): Promise<string>
  /** A storage layer on a database made by `fresh` (`maxConnections`: its pool's, on PostgreSQL). */
  layer(
    location: string,
    options?: Storage.Options & { readonly maxConnections?: number }
  ): Layer.Layer<Storage.Storage, Storage.StorageError>
  /** A SqlClient on it (to look at or damage the tables). */
  client(location: string): Layer.Layer<SqlClient.SqlClient, Storage.StorageError>
  /** The PostgreSQL server, for the postgres database. */
  readonly server: () => Postgres.Postgres | undefined
}

const skipNotice = new Set<string>()

/**
 * The databases of a test file: SQLite always; PostgreSQL unless no server binary exists here (said once) or
 * `postgres` is false (no server is started then: a file that runs PostgreSQL only with `TROUPE_LONG=1`).
 *
 * @example
 * for (const db of databases({ postgres: process.env.TROUPE_LONG === "1" })) describe(db.name, () => {})
 */
export const databases = (options: { readonly postgres?: boolean } = {}): ReadonlyArray<Database> => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-sqlite-"))
  const withPostgres = options.postgres !== false && Postgres.unavailable === undefined
  let files = 0
  let server: Postgres.Postgres | undefined
  let dbs = 0
  beforeAll(async () => {
    if (withPostgres) server = await Postgres.start()
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  const sqlite: Database = {
    name: "sqlite",
    fresh: async () => join(dir, `db-${++files}.sqlite`),
    layer: (filename, options) => {
      const { maxConnections: _, ...rest } = options ?? {}
      return Storage.layerSqlite({ filename, ...rest })
    },
    client: (filename) => Storage.sqliteClient({ filename }),
    server: () => undefined
  }
  if (options.postgres === false) return [sqlite]
  if (Postgres.unavailable !== undefined) {
    if (!skipNotice.has(Postgres.unavailable)) {
      skipNotice.add(Postgres.unavailable)
      console.warn(`PostgreSQL tests skipped: ${Postgres.unavailable}`)
    }
    return [sqlite]
  }
  const postgres: Database = {
    name: "postgres",
    fresh: async () => {
      const name = `t${++dbs}`
      await Effect.runPromise(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql.unsafe(`CREATE DATABASE ${name}`)
        }).pipe(Effect.provide(Storage.postgresClient({ url: server!.url, maxConnections: 1 })))
      )
      return server!.url.replace(/\/troupe$/, `/${name}`)
    },
    layer: (url, options) => Storage.layerPostgres({ url, ...options }),
    client: (url) => Storage.postgresClient({ url, maxConnections: 2 }),
    server: () => server
  }
  return [sqlite, postgres]
}

/** Runs an effect on a fresh actor system (with `options`) over the storage of a database made by `fresh`. */
export const onStorage = <A, E>(
  db: Database,
  location: string,
  effect: Effect.Effect<A, E, ActorSystem.ActorSystem | Storage.Storage>,
  options?: ActorSystem.Options
) => Effect.runPromise(effect.pipe(Effect.provide(ActorSystem.layer(options)), Effect.provide(db.layer(location))))

/**
 * A PostgreSQL server for the tests of the `describe` this is called in: started before them, stopped after them.
 *
 * @example
 * const server = postgresServer()
 * it("stores", async () => { const url = server().url })
 */
export const postgresServer = (): (() => Postgres.Postgres) => {
  let server: Postgres.Postgres | undefined
  beforeAll(async () => {
    server = await Postgres.start()
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
  }, 60_000)
  return () => server!
}
