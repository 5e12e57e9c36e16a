/**
 * A storage layer's options given from plain JavaScript or a config file that are not what they may be: each is
 * `InvalidStorageOptions` naming the option, what was given and what to give, when the layer is built, before a
 * database is opened or connected. They were a defect (`Duration.toMillis("10 sec")`), a storage built with a lease of
 * `NaN` or 0 ms (a statement PostgreSQL refuses at every write batch; 0 turns its stall guard off), a pool tried with
 * no connection (`maxConnections: 0`: the build waited on the server), or a misleading "could not open the database"
 * (`busyTimeoutMillis: -1`).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Storage } from "@troupe/runtime"
import { Effect, Layer, Redacted } from "effect"
import { afterAll } from "vitest"

const dir = mkdtempSync(join(tmpdir(), "troupe-storage-options-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Builds `layer` and answers its error (or a note that it built). */
const buildError = <A>(layer: Layer.Layer<A, Storage.StorageError>) =>
  Effect.scoped(Layer.build(layer)).pipe(
    Effect.as("built" as const),
    Effect.catch((error) => Effect.succeed(error))
  )

/** The error must be InvalidStorageOptions naming `option`, showing `given` and saying what to do. */
const check = (error: unknown, option: string, given: string) => {
  assert.instanceOf(error, Storage.InvalidStorageOptions, String(error))
  const invalid = error as Storage.InvalidStorageOptions
  assert.strictEqual(invalid.option, option)
  assert.include(invalid.message, option)
  assert.include(invalid.message, given)
  assert.include(invalid.message, "What to do")
}

/** A PostgreSQL URL where nothing listens: the options are refused before any connection is tried. */
const nowhere = "postgres://troupe:secret-password@127.0.0.1:1/troupe"

describe("storage options that are not what they may be", () => {
  it.live("layerSqlite: InvalidStorageOptions naming the option, and no file is opened", () =>
    Effect.gen(function* () {
      for (const [options, option, given] of [
        [{ nodeLease: "10 sec" }, "nodeLease", '"10 sec"'],
        [{ nodeLease: Number.NaN }, "nodeLease", "NaN"],
        [{ nodeLease: 0 }, "nodeLease", "0"],
        [{ nodeLease: "Infinity" }, "nodeLease", '"Infinity"'],
        [{ flushDelay: -1 }, "flushDelay", "-1"],
        [{ flushDelay: "30 days" }, "flushDelay", '"30 days"'],
        [{ writerConnection: "false" }, "writerConnection", '"false"'],
        [{ synchronous: "FULL" }, "synchronous", '"FULL"'],
        [{ busyTimeoutMillis: -1 }, "busyTimeoutMillis", "-1"],
        [{ busyTimeoutMillis: 2.5 }, "busyTimeoutMillis", "2.5"]
      ] as const) {
        const filename = join(dir, `${option}.db`)
        check(yield* buildError(Storage.layerSqlite({ filename, ...(options as object) })), option, given)
        assert.isFalse(existsSync(filename), `${option}: the database was opened`)
      }
      check(yield* buildError(Storage.layerSqlite({ filename: "" })), "filename", '""')
      // good ones build
      const good = Storage.layerSqlite({
        filename: join(dir, "good.db"),
        nodeLease: "2 seconds",
        flushDelay: 0,
        writerConnection: false,
        synchronous: "full",
        busyTimeoutMillis: 0
      })
      assert.strictEqual(yield* buildError(good), "built")
    })
  )

  it.live("Storage.layer over a client of one's own, and sqliteClient: checked likewise", () =>
    Effect.gen(function* () {
      const client = Storage.sqliteClient({ filename: join(dir, "own.db") })
      for (const [options, option, given] of [
        [{ nodeLease: Number.NaN }, "nodeLease", "NaN"],
        [{ nodeLease: -1 }, "nodeLease", "-1"],
        [{ flushDelay: "2 milis" }, "flushDelay", '"2 milis"']
      ] as const) {
        check(yield* buildError(Storage.layer(options as Storage.Options).pipe(Layer.provide(client))), option, given)
      }
      assert.strictEqual(yield* buildError(Storage.layer({ nodeLease: 500 }).pipe(Layer.provide(client))), "built")
      const filename = join(dir, "client.db")
      check(
        yield* buildError(Storage.sqliteClient({ filename, busyTimeoutMillis: Number.NaN })),
        "busyTimeoutMillis",
        "NaN"
      )
      assert.isFalse(existsSync(filename))
    })
  )

  it.live("layerPostgres and postgresClient: refused before any connection, the URL's password not shown", () =>
    Effect.gen(function* () {
      for (const [options, option, given] of [
        [{ maxConnections: 0 }, "maxConnections", "0"],
        [{ maxConnections: 1.5 }, "maxConnections", "1.5"],
        [{ connectTimeout: "30 sec" }, "connectTimeout", '"30 sec"'],
        [{ idleTimeout: -1 }, "idleTimeout", "-1"],
        [{ applicationName: 7 }, "applicationName", "7"],
        [{ nodeLease: Number.NaN }, "nodeLease", "NaN"]
      ] as const) {
        const error = yield* buildError(Storage.layerPostgres({ url: nowhere, ...(options as object) }))
        check(error, option, given)
        assert.notInclude(String((error as Error).message), "secret-password")
        if (option !== "nodeLease") {
          check(yield* buildError(Storage.postgresClient({ url: nowhere, ...(options as object) })), option, given)
        }
      }
      check(yield* buildError(Storage.layerPostgres({ url: "" })), "url", '""')
      check(yield* buildError(Storage.layerPostgres({ url: Redacted.make("") })), "url", "a Redacted value")
    })
  )
})
