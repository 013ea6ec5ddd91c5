/** Several callpilot nodes on one shared store: the node registry and what happens when a node dies. */
export { clusterConfigSchema, type ClusterConfig } from './config.ts';
export { NodePresence, isAlive, type NodePresenceOptions, type NodeStatus } from './node-presence.ts';
