/** What each figure measures, and why a goal is missed when it is (kept by hand, printed in BENCHMARKS.md). */

export const how: Record<string, string> = {
  ...Object.fromEntries(
    ["express", "fastify", "node_http"].flatMap((backend) => [
      [
        `backend_${backend}_req_per_s`,
        `the ${backend.replace("_", ":")} backend example (packages/examples/src/backends) in its own process, one agent per conversation, a scripted model answering at once; autocannon POSTs messages from 50 clients over 200 conversations for 10 s after 2 s of warm-up.`
      ],
      [`backend_${backend}_p99_ms`, "the 99th percentile latency of the same requests."],
      [
        `backend_${backend}_errors`,
        "connection errors, timeouts and non-2xx answers among the same requests (goal: none)."
      ]
    ])
  ),
  local_tell_per_s:
    "500 k `Add` messages told by one fiber to one counter actor (default mailbox: 1024, suspend), then one ask to wait for the last.",
  local_tell_vs_queue:
    "local_tell_per_s ÷ the same messages through a raw Effect `Queue.bounded(1024)`: one fiber offers, another takes and adds.",
  local_tell_vs_xstate: "local_tell_per_s ÷ the same events sent to an xstate v5 machine actor whose action adds.",
  idle_actor_bytes: "heap growth after a full GC ÷ 100 k spawned counter actors that have not received a message.",
  local_ask_per_s: "200 k asks to one counter actor, one after another from one fiber (each a full round trip).",
  local_ask_concurrent_per_s: "200 k asks to one counter actor from 16 concurrent fibers.",
  remote_tell_per_s:
    "300 k `Tick` messages told by an actor in one process to an actor in another, over the WebSocket transport on loopback, counted by the receiving actor.",
  raw_ws_per_s:
    "the same envelope bytes over raw `ws` between two processes, with the transport's batching; the receiver parses every frame (no validation, acks, resends or actors).",
  remote_tell_vs_ws:
    "actor tell throughput ÷ raw ws throughput, per round (the two back to back), median over 5 rounds.",
  remote_ask_p50_us:
    "5000 sequential asks (after 500 warm-up) from one process to an actor in another; median round trip.",
  remote_ask_p99_us: "the 99th percentile of the same asks.",
  raw_ws_echo_p50_us: "median round trip of one envelope echoed over raw `ws` between two processes.",
  remote_ask_p50_vs_ws: "actor ask p50 ÷ raw ws echo p50, per round (the two back to back), median over 5 rounds."
}

export const why: Record<string, string> = {
  remote_tell_vs_ws:
    "Per message, the raw baseline only stringifies and parses JSON. The transport adds its checks of every envelope, sequence numbers, acknowledgements and the resend buffer (measured alone at 0.60–0.69 of raw on a quiet machine); the runtime adds the payload's Schema encoding and decoding, the envelope and sender ref, and the actor's handling. Profiles of the receiving process show JSON parsing at about half of its busy time. Steps taken: an idle actor handles a remote message without a fiber when its handler completes at once, suspended senders are admitted in bulk, validated node ids are remembered (0.42 → 0.5–0.58). Next: send envelopes in batches per link (one Effect per batch instead of per message), and skip the structural checks of envelopes that come from an authenticated peer's own encoder.",
  remote_ask_p50_vs_ws:
    "Latencies on this shared VM vary by 2× between runs (the raw echo alone from 120 to 230 µs); the ratio measured 1.15–1.6 in separate runs. An ask crosses Effect's scheduler on each side (the transport's consumer and the caller's fiber resume through setImmediate), where the raw echo answers in the socket callback; the recipient's handler itself runs in the dispatcher's call. Next: a push-style inbound API on the transport, to take the dispatcher's wake-up off the path."
}

/** Longer notes on a figure (a proof, a cause), printed in BENCHMARKS.md after the table. */
export const notes: Record<string, string> = {}
