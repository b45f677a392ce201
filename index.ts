/**
 * dockyard: config -> network -> images -> cluster -> workloads -> stack outputs.
 * Edit `workloads.ts` to change what runs; the stack's config decides where.
 */
import { declareProgram } from "./components/program";
import { workloads } from "./workloads";

export const { target, url, imageDigests, details } = declareProgram(workloads);
