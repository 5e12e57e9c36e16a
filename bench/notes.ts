/** What each figure measures, and why a goal is missed when it is (kept by hand, printed in BENCHMARKS.md). */

export const how: Record<string, string> = {
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
  remote_ask_p50_vs_ws: "actor ask p50 ÷ raw ws echo p50, per round (the two back to back), median over 5 rounds.",
  fanout_100k_vs_1:
    "300 k `Add` messages told by one fiber round-robin to 100 k counter actors (each woken from idle for every message) ÷ the same messages told to one counter, median of 7 interleaved rounds each, in one system.",
  fanout_100k_per_s: "the 100 k-actor side of fanout_100k_vs_1.",
  ask_4096_callers_vs_1:
    "200 k asks to one counter actor from 4096 concurrent fibers ÷ the same asks from one fiber, medians of 5 interleaved rounds.",
  queue_4096_callers_vs_1:
    "the same shape without actors: each caller offers a `Deferred` to a raw `Queue.bounded(1024)`, one server fiber takes and completes them; 4096 callers ÷ one.",
  ask_4096_callers_vs_queue: "ask_4096_callers_vs_1 ÷ queue_4096_callers_vs_1: above 1 means the actor loses less than the raw shape.",
  ask_4096_callers_gc_share: "time in garbage collection (main-thread pauses, from `PerformanceObserver`) ÷ wall time of the 4096-caller asks.",
  queue_4096_callers_gc_share: "the same for the raw Queue + Deferred shape.",
  waiting_caller_bytes:
    "heap growth after a full GC ÷ 4096 forked fibers each suspended in an ask to an actor busy with another message.",
  waiting_fiber_bytes: "heap growth after a full GC ÷ 4096 forked fibers each suspended on a raw `Deferred.await`.",
  touched_actor_bytes:
    "heap growth after a full GC ÷ 100 k spawned counter actors that have each handled one message and are idle again.",
  local_tell_vs_nact:
    "300 k one-way messages to one counter actor, Troupe (then one ask to wait for the last) ÷ nact 7.6 (`dispatch`, then a `query`), medians of 5 interleaved rounds.",
  nact_tell_per_s: "the nact side of local_tell_vs_nact.",
  local_ask_vs_nact: "50 k asks one after another to one counter, Troupe ÷ nact (`query` with a timeout), medians of 5 interleaved rounds.",
  nact_ask_per_s: "the nact side of local_ask_vs_nact.",
  nact_idle_actor_bytes: "heap growth after a full GC ÷ 20 k spawned nact actors that have not received a message.",
  local_ask_vs_cluster:
    "50 k asks one after another to one counter, Troupe ÷ an Effect Cluster entity's requests (`Entity.make` + `toLayer`, `TestRunner.layer`: in-memory storage, no network), medians of 5 interleaved rounds.",
  cluster_request_per_s: "the Effect Cluster side of local_ask_vs_cluster.",
  cluster_entity_bytes:
    "heap growth after a full GC ÷ 10 k Effect Cluster entities that each handled one request (an entity exists once addressed; 10 k is a runner's default limit).",
  sessions_10k_vs_1:
    "sessions of a request and its answer between two roles, played by two participant actors that are in every session at once: 10 k started at once ÷ 2000 one after another, sessions per second, medians of 5 interleaved rounds.",
  sessions_per_s: "the one-at-a-time side of sessions_10k_vs_1.",
  sessions_10k_gc_share: "time in garbage collection ÷ wall time while 10 k sessions run at once.",
  session_live_bytes:
    "heap growth after a full GC ÷ 5000 live sessions of the same protocol: every role's program has begun, the server waits for the ask, the client is held before its first move (the two participant actors are shared, so this is the session's own cost: its coordinator actor, two role states, monitors, traces, program fibers)."
}

export const why: Record<string, string> = {
  remote_tell_vs_ws:
    "Per message, the raw baseline only stringifies and parses JSON. The transport adds its checks of every envelope, sequence numbers, acknowledgements and the resend buffer (measured alone at 0.60–0.69 of raw on a quiet machine); the runtime adds the payload's Schema encoding and decoding, the envelope and sender ref, and the actor's handling. Profiles of the receiving process show JSON parsing at about half of its busy time. Steps taken: an idle actor handles a remote message without a fiber when its handler completes at once, suspended senders are admitted in bulk, validated node ids are remembered (0.42 → 0.5–0.58). Next: send envelopes in batches per link (one Effect per batch instead of per message), and skip the structural checks of envelopes that come from an authenticated peer's own encoder.",
  remote_ask_p50_vs_ws:
    "Latencies on this shared VM vary by 2× between runs (the raw echo alone from 120 to 230 µs); the ratio measured 1.15–1.6 in separate runs. An ask crosses Effect's scheduler on each side (the transport's consumer and the caller's fiber resume through setImmediate), where the raw echo answers in the socket callback; the recipient's handler itself runs in the dispatcher's call. Next: a push-style inbound API on the transport, to take the dispatcher's wake-up off the path."
}

/** Longer notes on a figure (a proof, a cause), printed in BENCHMARKS.md after the table. */
export const notes: Record<string, string> = {}
