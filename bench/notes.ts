/** What each figure measures, and why a goal is missed when it is (kept by hand, printed in BENCHMARKS.md). */

export const how: Record<string, string> = {
  local_tell_per_s:
    "500 k `Add` messages told by one fiber to one counter actor (default mailbox: 1024, suspend), then one ask to wait for the last.",
  local_tell_vs_queue:
    "local_tell_per_s ÷ the same messages through a raw Effect `Queue.bounded(1024)`: one fiber offers, another takes and adds.",
  local_tell_vs_xstate: "local_tell_per_s ÷ the same events sent to an xstate v5 machine actor whose action adds.",
  idle_actor_bytes: "heap growth after a full GC ÷ 100 k spawned counter actors that have not received a message.",
  local_ask_per_s: "200 k asks to one counter actor, one after another from one fiber (each a full round trip).",
  local_ask_concurrent_per_s: "200 k asks to one counter actor from 16 concurrent fibers."
}

export const why: Record<string, string> = {}
