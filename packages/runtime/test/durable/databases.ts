/**
 * The two real databases durability is tested on: a SQLite file, and a PostgreSQL server the tests start
 * (see `postgres.ts`). `databases()` is called once per test file (at its top level); `fresh()` gives an empty
 * database for one test. On PostgreSQL that is a database of its own on the server this process shares with the test
 * files before and after it (`Postgres.shared`), dropped once the file's tests ended: nothing of one file is seen by
 * another. A file that stops or restarts its server asks for one of its own (`ownServer`).
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
  /** The PostgreSQL server, for the postgres database of a file with a server of its own (`ownServer`). */
  readonly server: () => Postgres.Postgres | undefined
}

const skipNotice = new Set<string>()

/** The database names of this process's shared server given out so far (on `globalThis`, as the server). */
const namesKey = Symbol.for("@troupe/test/postgres/databases")
const nextName = (): string => {
  const global = globalThis as { [namesKey]?: number }
  global[namesKey] = (global[namesKey] ?? 0) + 1
  return `t${global[namesKey]}`
}

/** Runs `statement` on the `troupe` database of `server` (CREATE or DROP DATABASE: not in a transaction). */
const admin = (server: Postgres.Postgres, statement: string): Promise<void> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(statement)
    }).pipe(Effect.provide(Storage.postgresClient({ url: server.url, maxConnections: 1 })))
  )

/**
 * The databases of a test file: SQLite always; PostgreSQL unless no server binary exists here (said once) or
 * `postgres` is false (no server is started then: a file that runs PostgreSQL only with `TROUPE_LONG=1`). Its
 * PostgreSQL databases are on this process's shared server, or with `ownServer` on one the file starts and stops
 * (for a file that stops or restarts it: `server()`).
 *
 * @example
 * for (const db of databases({ postgres: process.env.TROUPE_LONG === "1" })) describe(db.name, () => {})
 */
export const databases = (
  options: { readonly postgres?: boolean; readonly ownServer?: boolean } = {}
): ReadonlyArray<Database> => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-sqlite-"))
  const withPostgres = options.postgres !== false && Postgres.unavailable === undefined
  let files = 0
  let server: Postgres.Postgres | undefined
  /** The databases this file made on the shared server, dropped after its tests. */
  const made: Array<string> = []
  beforeAll(async () => {
    if (withPostgres) server = options.ownServer === true ? await Postgres.start() : await Postgres.shared()
  }, 60_000)
  afterAll(async () => {
    try {
      if (options.ownServer === true) await server?.stop()
      // FORCE: a connection the file left open (a pool of a failed test) is ended, not waited for
      else for (const name of made.splice(0)) await admin(server!, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
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
      const name = nextName()
      await admin(server!, `CREATE DATABASE ${name}`)
      made.push(name)
      return server!.url.replace(/\/troupe$/, `/${name}`)
    },
    layer: (url, options) => Storage.layerPostgres({ url, ...options }),
    client: (url) => Storage.postgresClient({ url, maxConnections: 2 }),
    // the shared server is not the file's to stop
    server: () => (options.ownServer === true ? server : undefined)
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
