// The fuzz worker's entry (plain JavaScript, so that Node can start it): registers tsx in this
// thread, whose hooks workers do not inherit, then loads worker.ts. Started by pool.ts.
import { register } from "tsx/esm/api"

register()
await import("./worker.ts")
