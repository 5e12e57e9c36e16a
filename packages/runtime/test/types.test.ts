import { describe, expectTypeOf, it } from "@effect/vitest"
import { type ActorRef, Behavior, Protocol } from "@troupe/runtime"
import { Context, type Effect, Schema } from "effect"

class Insufficient extends Schema.TaggedError<Insufficient>()("Insufficient", { balance: Schema.Number }) {}

const Account = Protocol.make("Account", {
  Deposit: { amount: Schema.Number },
  Withdraw: Protocol.request({ amount: Schema.Number }, { success: Schema.Number, failure: Insufficient }),
  Balance: Protocol.request({}, { success: Schema.Number })
})
const Other = Protocol.make("Other", { Ping: {} })
type InvalidMessage = import("../src/ActorRef.ts").InvalidMessage

declare const account: ActorRef.ActorRef<typeof Account>

describe("typing", () => {
  // The bodies are only type-checked: `account` is a declared value, never called.
  it("tell accepts only the protocol's messages", () =>
    typeOnly(() => {
      expectTypeOf(account.tell(Account.Deposit({ amount: 1 }))).toEqualTypeOf<
        Effect.Effect<
          void,
          | import("@troupe/runtime").Mailbox.MailboxFull
          | InvalidMessage
          | import("@troupe/runtime").Sharded.ClusterUnavailable
        >
      >()
      // @ts-expect-error a message of another protocol
      account.tell(Other.Ping())
      // @ts-expect-error a wrong field type
      account.tell(Account.Deposit({ amount: "1" }))
    }))

  it("ask accepts only requests and is typed by their reply", () =>
    typeOnly(() => {
      const withdraw = account.ask(Account.Withdraw({ amount: 1 }))
      expectTypeOf<Effect.Success<typeof withdraw>>().toEqualTypeOf<number>()
      expectTypeOf<Effect.Error<typeof withdraw>>().toEqualTypeOf<Insufficient | ActorRef.AskError>()
      const balance = account.ask(Account.Balance())
      expectTypeOf<Effect.Error<typeof balance>>().toEqualTypeOf<ActorRef.AskError>()
      // @ts-expect-error Deposit is not a request
      account.ask(Account.Deposit({ amount: 1 }))
    }))

  it("a behaviour must handle every message, and requests must reply with the declared type", () => {
    Behavior.make(Account, {
      initial: 0,
      // @ts-expect-error Balance is not handled
      receive: {
        Deposit: (n) => Effect_succeed(n),
        Withdraw: (n) => Effect_succeed({ state: n, reply: n })
      }
    })
    Behavior.make(Account, {
      initial: 0,
      receive: {
        Deposit: (n) => Effect_succeed(n),
        Withdraw: (n) => Effect_succeed({ state: n, reply: n }),
        // @ts-expect-error the reply must be a number
        Balance: (n) => Effect_succeed({ state: n, reply: "n" })
      }
    })
  })
})

describe("typing of generator handlers", () => {
  it("a generator request handler must return the declared reply", () => {
    Behavior.make(Account, {
      initial: 0,
      receive: {
        *Deposit(n, { amount }) {
          return n + amount
        },
        *Withdraw(n) {
          return { state: n, reply: n }
        },
        // @ts-expect-error the reply must be a number
        *Balance(n) {
          return { state: n, reply: "n" }
        }
      }
    })
  })
})

describe("typing of what handlers need", () => {
  it("a behaviour needs the services its handlers use, whether they return effects or are generators", () => {
    const withEffects = Behavior.make(Account, {
      initial: 0,
      receive: {
        Deposit: (n) => Effect_succeed(n),
        Withdraw: (n, { amount }) => Rate.use(({ fee }) => Effect_succeed({ state: n - amount - fee, reply: n })),
        Balance: (n) => Effect_succeed({ state: n, reply: n })
      }
    })
    expectTypeOf(withEffects).toEqualTypeOf<Behavior.Behavior<typeof Account, number, Rate>>()
    const withGenerators = Behavior.make(Account, {
      init: () => Effect_succeed(0),
      receive: {
        *Deposit(n, { amount }) {
          const { fee } = yield* Rate
          return n + amount - fee
        },
        Withdraw: (n) => Effect_succeed({ state: n, reply: n }),
        Balance: (n) => Effect_succeed({ state: n, reply: n })
      }
    })
    expectTypeOf(withGenerators).toEqualTypeOf<Behavior.Behavior<typeof Account, number, Rate>>()
  })
})

class Rate extends Context.Service<Rate, { readonly fee: number }>()("test/Rate") {}

declare function Effect_succeed<A>(a: A): Effect.Effect<A>
const typeOnly = (_body: () => void) => {}
