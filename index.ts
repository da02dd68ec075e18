// Entry point: load and validate the stack's config, then build the add-ons and the application
// (components/platform.ts). The returned object is the stack's outputs, which other projects read
// through StackReference (README: "Stack outputs").

import { platform } from "./components/platform";
import { loadStack } from "./stacks/load";

// loadStack throws one error listing every config problem, a refused namespace move included,
// before any resource is registered.
export = async () => platform(await loadStack());
