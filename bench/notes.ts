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
  remote_tell_vs_ws: "remote_tell_per_s ÷ raw_ws_per_s, measured in interleaved rounds.",
  remote_ask_p50_us:
    "5000 sequential asks (after 500 warm-up) from one process to an actor in another; median round trip.",
  remote_ask_p99_us: "the 99th percentile of the same asks.",
  raw_ws_echo_p50_us: "median round trip of one envelope echoed over raw `ws` between two processes.",
  remote_ask_p50_vs_ws: "remote_ask_p50_us ÷ raw_ws_echo_p50_us, measured in interleaved rounds."
}

export const why: Record<string, string> = {
  remote_tell_vs_ws:
    "Per message, the raw baseline only parses JSON. On top of that, the transport checks each envelope, numbers it, acknowledges it and keeps it for resending (the transport alone measured 0.62–0.84 of raw in separate runs), and the runtime decodes the payload with the protocol's Schema, makes the envelope and sender ref, and schedules the actor, whose handler runs as an Effect. Profiles of the receiving process show JSON parsing at about a fifth of its busy time, the rest being this work. The raw figure itself varied from 234 k to 400 k msg/s between runs on this shared 2-core machine. Next steps: batch the dispatcher's mailbox inserts per actor, and lighter envelope checks for frames from authenticated peers.",
  remote_ask_p50_vs_ws:
    "A remote ask crosses two fibers on each side (the dispatcher and the actor's drain, then the reply outbox) on top of the transport's own hop, each a wake-up through Effect's scheduler; the raw echo answers in the socket callback. Next step: send replies from the actor's fiber instead of the outbox when the link is not backpressured."
}
