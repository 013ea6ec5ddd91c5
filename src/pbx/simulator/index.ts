/** A simulated phone on callpilot's media WebSocket: the `simulate` command, the latency bench and tests use it. */
export { runSimulatedCall, type CallerTurn, type SimulatedCallOptions, type SimulatedCallReport, type TurnMeasurement } from './simulatedCaller.ts';
export { readWavAs } from './wavAudio.ts';
