/** How a node meets its peers: its authentication, checked, and joining each peer. */
import type { ActorSystem, RemoteAccess } from "@troupe/runtime"
import { Console, Duration, Effect, Option, Redacted } from "effect"
import type { Options } from "../TroupeNode.ts"
import { InvalidPeer, NotSecure, PeerRefused, PeerUnreachable } from "./nodeErrors.ts"

/** Joins a peer, saying so while it waits. */
export const join = (system: ActorSystem.ActorSystemService, peer: string, timeout: Duration.Duration) =>
  Effect.gen(function* () {
    const connect = system.connect(peer).pipe(
      Effect.mapError((error) =>
        error.reason === "refused"
          ? new PeerRefused({ peer, detail: error.detail })
          : new InvalidPeer({ peer, detail: error.detail })
      ),
      Effect.timeoutOption(timeout)
    )
    const quick = yield* Effect.timeoutOption(connect, "1 second")
    const joined = Option.isSome(quick)
      ? quick.value
      : yield* Console.log(
          `  waiting for ${peer} (retrying until it is up, for up to ${Duration.format(timeout)})`
        ).pipe(Effect.andThen(connect))
    if (Option.isNone(joined)) {
      return yield* new PeerUnreachable({ peer, waitedMillis: Duration.toMillis(timeout) })
    }
    return joined.value
  })

const MIN_SECRET = 16

/** The node's authentication, checked: a secret of at least 16 characters, mutual TLS, or the insecure flag. */
export const authentication = (options: Options) => {
  const token =
    options.token === undefined
      ? undefined
      : Redacted.isRedacted(options.token)
        ? Redacted.value(options.token)
        : options.token
  const tls = options.tls
  const mutual = tls?.cert !== undefined && tls.key !== undefined && tls.ca !== undefined
  if (token !== undefined && options.insecureNoAuth === true) {
    return Effect.fail(new NotSecure({ detail: "Give --token or --insecure-no-auth, not both" }))
  }
  if (token === undefined && !mutual && options.insecureNoAuth !== true) {
    return Effect.fail(
      new NotSecure({
        detail:
          "No secret: give every node the same --token (or TROUPE_TOKEN) of at least 16 characters, e.g. " +
          "the output of `openssl rand -hex 16`; or --insecure-no-auth to run an open node for an experiment on this machine"
      })
    )
  }
  // spaces at the ends add nothing a guesser has to find: `--token "$A $B"` with neither set is empty
  const strength = token?.trim().length ?? 0
  if (token !== undefined && strength < MIN_SECRET) {
    const what =
      strength === 0
        ? `is ${token === "" ? "empty" : "only spaces"} (is the variable you meant set?)`
        : `has ${strength} characters${strength === token.length ? "" : " besides spaces at its ends"}`
    return Effect.fail(
      new NotSecure({
        detail: `The --token (or TROUPE_TOKEN) ${what}: use at least ${MIN_SECRET}, e.g. the output of \`openssl rand -hex 16\``
      })
    )
  }
  return Effect.succeed({
    ...(token === undefined ? { insecureNoAuth: !mutual } : { secret: token }),
    ...(tls === undefined ? {} : { tls })
  })
}

/** A policy that also lets peers reach `paths` (the node's own infrastructure, such as its inspector). */
export const reachable = (
  access: RemoteAccess.RemoteAccess,
  paths: ReadonlyArray<string>
): RemoteAccess.RemoteAccess =>
  access.reach === undefined || access.reach === "all" ? access : { ...access, reach: [...access.reach, ...paths] }
