/**
 * dockyard: config -> network -> images -> cluster -> workloads -> stack outputs.
 */
import { loadStackConfig } from "./components/config";
import { stackAwsProvider } from "./components/tags";

const config = loadStackConfig();
const awsProvider = config.swarm.engine === "local" ? undefined : stackAwsProvider(config);

export const target = config.target;
export const region = awsProvider ? config.region : "local";
