/**
 * @troupe/runtime: supervised actors on Effect 4.
 *
 * - {@link Protocol}: typed message sets, with replies for requests.
 * - {@link Behavior}: what an actor is: initial state and one handler per message.
 * - {@link ActorRef}: `tell` and `ask` (always with a deadline).
 * - {@link ActorSystem}: spawn, lookup, stop, events, shutdown.
 * - {@link Supervisor}: OTP strategies, restart budgets, backoff, deciders.
 * - {@link Mailbox}: bounded mailboxes and overflow policies.
 * - {@link Terminated}: death watch.
 * - {@link SystemEvent}: the typed event stream.
 */
export * as ActorRef from "./ActorRef.ts"
export * as ActorSystem from "./ActorSystem.ts"
export * as Behavior from "./Behavior.ts"
export * as Mailbox from "./Mailbox.ts"
export * as Protocol from "./Protocol.ts"
export * as Receptionist from "./Receptionist.ts"
export * as Supervisor from "./Supervisor.ts"
export * as SystemEvent from "./SystemEvent.ts"
export * as Terminated from "./Terminated.ts"
export * as TestKit from "./TestKit.ts"
export * as Topic from "./Topic.ts"
