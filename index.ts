/**
 * dockyard: config -> network -> images -> cluster -> workloads -> stack outputs.
 * Edit `workloads.ts` to change what runs; the stack's config decides where.
 */
import { loadStackConfig } from "./components/config";
import { declareStack } from "./components/stack";
import { redisPassword, sampleWorkloads } from "./workloads";

const config = loadStackConfig();
const stack = declareStack(config, sampleWorkloads({ redisPassword: redisPassword(config.stack) }));

export const target = stack.target;
export const url = stack.url;
export const imageDigests = stack.imageDigests;
export const details = Object.fromEntries(Object.entries(stack).filter(([key]) => !["target", "url", "imageDigests"].includes(key)));
