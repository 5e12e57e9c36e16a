/**
 * A transport's options given from plain JavaScript or a config file that are not what they may be: one typed
 * `TransportStartError` when the node is made, naming the field, what was given and what to give. Unchecked, a
 * failure detector's were a defect when the first link formed (`FailureDetector.timeout("2 sec0")`), or every peer
 * declared down at each heartbeat tick (a timeout of 0, -1 or NaN; a phi threshold of NaN; a detector without its
 * `_tag`, read as phi accrual without a threshold); a listen port that is not one was Node's `RangeError` thrown out
 * of `listen` (a defect); an `advertisedUrl` that is not a ws(s) URL was published, and no peer could dial it; a
 * duration that is not one was shown as `NaN`; a `reconnect.maxDelay` below the `initialDelay` was raised to it
 * silently, and so was a `limits.maxPeerHeartbeatInterval` below the node's own `heartbeatInterval`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { FailureDetector, InProcess, type Transport, WebSocket } from "../src/index.ts"

const secret = "the options test's shared secret"

/** What `make` must fail with: the field, and the value as it was given. */
const refused = (
  error: { readonly _tag: string; readonly field: string; readonly message: string },
  field: string,
  given: string
) => {
  assert.strictEqual(error._tag, "TransportStartError")
  assert.strictEqual(error.field, field, error.message)
  assert.include(error.message, given, error.message)
}

const bad: ReadonlyArray<readonly [Transport.Options, string, string]> = [
  [{ failureDetector: FailureDetector.timeout("2 sec0" as never) }, "failureDetector.timeout", '"2 sec0"'],
  [{ failureDetector: FailureDetector.timeout(0) }, "failureDetector.timeout", "0"],
  [{ failureDetector: FailureDetector.timeout(-1) }, "failureDetector.timeout", "-1"],
  [{ failureDetector: FailureDetector.timeout(Number.NaN) }, "failureDetector.timeout", "NaN"],
  [{ failureDetector: FailureDetector.phiAccrual({ threshold: Number.NaN }) }, "failureDetector.threshold", "NaN"],
  [{ failureDetector: FailureDetector.phiAccrual({ threshold: 0 }) }, "failureDetector.threshold", "0"],
  [{ failureDetector: FailureDetector.phiAccrual({ maxSampleSize: 0 }) }, "failureDetector.maxSampleSize", "0"],
  [{ failureDetector: FailureDetector.phiAccrual({ maxSampleSize: 2.5 }) }, "failureDetector.maxSampleSize", "2.5"],
  [{ failureDetector: FailureDetector.phiAccrual({ minStdDeviation: 0 }) }, "failureDetector.minStdDeviation", "0"],
  [
    { failureDetector: FailureDetector.phiAccrual({ acceptableHeartbeatPause: "3 secs" as never }) },
    "failureDetector.acceptableHeartbeatPause",
    '"3 secs"'
  ],
  [
    { failureDetector: FailureDetector.phiAccrual({ firstHeartbeatEstimate: "Infinity" }) },
    "failureDetector.firstHeartbeatEstimate",
    "Infinity"
  ],
  [{ failureDetector: { timeout: "2 seconds" } as never }, "failureDetector", "FailureDetector.timeout"],
  [{ heartbeatInterval: "1 sec0" as never }, "heartbeatInterval", '"1 sec0"'],
  [{ handshakeTimeout: "5 seconds!" as never }, "handshakeTimeout", '"5 seconds!"'],
  [{ reconnect: { initialDelay: "1 second", maxDelay: 100 } }, "reconnect.maxDelay", "100 ms"],
  [
    { heartbeatInterval: "2 seconds", limits: { maxPeerHeartbeatInterval: "1 second" } },
    "limits.maxPeerHeartbeatInterval",
    "(1000 ms) is less than heartbeatInterval (2000 ms)"
  ]
]

describe("transport options that are not what they may be", () => {
  it.effect("InProcess and WebSocket: one TransportStartError at make, naming the field", () =>
    Effect.gen(function* () {
      const network = InProcess.makeNetwork()
      for (const [options, field, given] of bad) {
        refused(yield* Effect.flip(InProcess.make(network, { secret, ...options })), field, given)
        refused(yield* Effect.flip(WebSocket.make({ secret, ...options })), field, given)
      }
      // good ones start (a maxDelay below the default initialDelay's own default is fine when not given)
      yield* InProcess.make(network, {
        secret,
        failureDetector: FailureDetector.phiAccrual({ threshold: 10, firstHeartbeatEstimate: "1 second" }),
        reconnect: { initialDelay: "10 seconds" },
        // a heartbeatInterval beyond the default maxPeerHeartbeatInterval raises that bound when it is not given
        heartbeatInterval: "10 seconds"
      })
      yield* InProcess.make(network, {
        secret,
        heartbeatInterval: "2 seconds",
        limits: { maxPeerHeartbeatInterval: "2 seconds" }
      })
      yield* InProcess.make(network, { secret, failureDetector: FailureDetector.timeout("2 seconds") })
    }).pipe(Effect.scoped)
  )

  it.live("WebSocket: a listen port or host, or an advertisedUrl, that is not one is a TransportStartError", () =>
    Effect.gen(function* () {
      for (const [listen, field, given] of [
        [{ port: -1 }, "listen.port", "-1"],
        [{ port: 65536 }, "listen.port", "65536"],
        [{ port: Number.NaN }, "listen.port", "NaN"],
        [{ port: 80.5 }, "listen.port", "80.5"],
        [{ port: "7000" }, "listen.port", '"7000"'],
        [{ port: 0, host: "" }, "listen.host", '""']
      ] as const) {
        refused(yield* Effect.flip(WebSocket.make({ secret, listen: listen as never })), field, given)
      }
      for (const advertisedUrl of ["example.com:7000", "http://example.com:7000", ""]) {
        refused(
          yield* Effect.flip(WebSocket.make({ secret, advertisedUrl })),
          "advertisedUrl",
          JSON.stringify(advertisedUrl)
        )
      }
      const advertised = yield* WebSocket.make({ secret, advertisedUrl: "wss://node-1.example.org:7000" })
      assert.strictEqual(
        Option.getOrElse(advertised.address, () => ""),
        "wss://node-1.example.org:7000"
      )
      const node = yield* WebSocket.make({ secret, listen: { port: 0, host: "127.0.0.1" } })
      assert.match(
        Option.getOrElse(node.address, () => ""),
        /^ws:\/\/127\.0\.0\.1:\d+$/
      )
    }).pipe(Effect.scoped)
  )
})
