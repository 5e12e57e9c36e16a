import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ActorSystem, Behavior, Protocol } from "@troupe/runtime"
import { Effect, Schema } from "effect"

class Insufficient extends Schema.TaggedError<Insufficient>()("Insufficient", { balance: Schema.Number }) {}

const Account = Protocol.make("Account", {
  Deposit: { amount: Schema.Number },
  // a request with a typed failure: the caller gets `Insufficient`, the actor keeps running
  Withdraw: Protocol.request({ amount: Schema.Number }, { success: Schema.Number, failure: Insufficient }),
  Audit: Protocol.request({}, { success: Schema.String })
})

const account = Behavior.make(Account, {
  initial: 0,
  receive: {
    Deposit: (balance, { amount }) => Effect.succeed(balance + amount),
    Withdraw: (balance, { amount }) =>
      amount > balance
        ? Effect.fail(new Insufficient({ balance }))
        : Effect.succeed({ state: balance - amount, reply: balance - amount }),
    Audit: (balance) => Effect.never.pipe(Effect.as({ state: balance, reply: "never answers" }))
  }
})

const program = Effect.gen(function* () {
  const ref = yield* ActorSystem.spawn(account)
  yield* ref.tell(Account.Deposit({ amount: 10 }))
  console.log("left:", yield* ref.ask(Account.Withdraw({ amount: 4 })))
  // typed failures are part of the reply type
  const refused = yield* ref
    .ask(Account.Withdraw({ amount: 100 }))
    .pipe(Effect.catchTag("Insufficient", (e) => Effect.succeed(`refused, balance ${e.balance}`)))
  console.log(refused)
  // every ask has a deadline (5 s by default); the handler's work is interrupted when it passes
  const late = yield* ref
    .ask(Account.Audit(), { timeout: "50 millis" })
    .pipe(Effect.catchTag("AskTimeout", (e) => Effect.succeed(`no reply within ${e.timeoutMillis} ms`)))
  console.log(late)
})

NodeRuntime.runMain(program.pipe(Effect.provide(ActorSystem.layer())))
