/** A simulated phone on callpilot's media WebSocket: the `simulate` command, the latency bench and tests use it. */
export { runSimulatedCall, type CallerTurn, type SimulatedCallOptions, type SimulatedCallReport, type TurnMeasurement, type BotBurst } from './simulated-caller.ts';
export { readWavAs } from './wav-audio.ts';
export { LineNoise } from './line-noise.ts';
export { LineEcho, type LineEchoOptions } from './line-echo.ts';
export { runSimulatedCallOnOwnThread } from './phone-thread.ts';
