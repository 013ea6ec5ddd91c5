import { z } from 'zod';

export const asteriskConfigSchema = z.object({
  url: z.string().url().default('http://127.0.0.1:8088'),
  username: z.string().default('callpilot'),
  password: z.string().default(''),
  app: z.string().default('callpilot'),
  /** How Asterisk sends the call's audio to callpilot. */
  media: z.enum(['websocket', 'websocket-client', 'audiosocket', 'rtp']).default('websocket'),
  /** websocket_client.conf id used for media=websocket-client. */
  websocketClientId: z.string().default('callpilot'),
  /** Address Asterisk reaches callpilot's AudioSocket / RTP listeners at. */
  mediaHost: z.string().default('127.0.0.1'),
  /** 0 = any free port (tests). */
  audioSocketPort: z.number().int().min(0).max(65535).default(9092),
  rtpPortRange: z.tuple([z.number().int(), z.number().int()]).default([20000, 20999]),
  mediaBindHost: z
    .string()
    .default('127.0.0.1')
    .describe(
      'Local address the AudioSocket and RTP listeners bind to. Loopback by default (Asterisk on the same host); set it to the interface Asterisk reaches callpilot on (the address in mediaHost), not 0.0.0.0, so the media ports are not open on every interface.',
    ),
  rtpSourceCheck: z
    .enum(['exact', 'latch'])
    .default('exact')
    .describe(
      'Which RTP packets a call accepts: exact = only from the address and port its UnicastRTP channel reported (UNICASTRTP_LOCAL_ADDRESS/PORT; Asterisk sends from there), others are dropped and counted; latch = the first packet\'s source, for an Asterisk behind NAT (anyone reaching the port first is heard).',
    ),
  format: z.enum(['ulaw', 'alaw', 'slin16']).default('ulaw'),
  mediaTimeoutMs: z
    .number()
    .int()
    .min(500)
    .max(60000)
    .default(5000)
    .describe('How long setting up a call\'s media may take before the call is failed (ms).'),
  transcriptVariable: z
    .string()
    .default('CALLPILOT_TRANSCRIPT')
    .describe('Channel variable that carries the transcript summary to the agent on transfer.'),
  transfer: z
    .object({ context: z.string().default('agents'), extension: z.string().default('s'), priority: z.number().int().default(1) })
    .prefault({}),
});

/** No default secret (FreeSWITCH ships ClueCon, which every scanner tries first): the ESL password must be set. */
const ESL_PASSWORD_REQUIRED =
  'required when FreeSWITCH is configured (no default: FreeSWITCH ships "ClueCon" and scanners try it first); set pbx.freeswitch.password, or read it from a file with CALLPILOT_PBX_FREESWITCH_PASSWORD_FILE or passwordFile: in YAML';

export const freeswitchConfigSchema = z.object({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(1).max(65535).default(8021),
  password: z.string({ error: ESL_PASSWORD_REQUIRED }).min(1, { error: ESL_PASSWORD_REQUIRED }),
  /** mod_audio_stream (default) or mod_audio_fork (subprotocol audio.drachtio.org, playAudio/killAudio). */
  media: z.enum(['audio_stream', 'audio_fork']).default('audio_stream'),
  record: z
    .boolean()
    .default(false)
    .describe('Record each call on the FreeSWITCH host with uuid_record, from answer to hangup; the path is the call variable pbx_recording.'),
  recordPath: z
    .string()
    .regex(/^\S+$/, 'one word: uuid_record takes the path as a single argument')
    .default('/var/lib/freeswitch/recordings/callpilot/{date}/{uuid}.wav')
    .describe('Where FreeSWITCH writes the recording: {uuid} = channel Unique-ID, {date} = YYYY-MM-DD (UTC); the extension picks the format.'),
  /** URL FreeSWITCH uses to reach callpilot's media WebSocket. */
  mediaUrl: z.string().default('ws://127.0.0.1:8080/media/freeswitch'),
  /** Port of callpilot's outbound-socket server (dialplan `socket`), 0 = off. */
  outboundSocketPort: z.number().int().min(0).max(65535).default(0),
  transfer: z.object({ extension: z.string().default('agent'), dialplan: z.string().default('XML'), context: z.string().default('default') }).prefault({}),
  /** Host the outbound-socket server binds to. */
  outboundSocketHost: z.string().default('127.0.0.1'),
  /** Rate of the audio stream both ways (`mono 16k` / `mono 8k`). */
  sampleRate: z.union([z.literal(8000), z.literal(16000)]).default(16000),
  /** First streamAudio chunk of a prompt (small: the first words leave early), then chunks of chunkMs. */
  firstChunkMs: z.number().int().min(20).max(2000).default(240),
  chunkMs: z.number().int().min(100).max(10000).default(1000),
  /** Only parked channels carrying this channel variable (non-empty) are taken by the bot; '' = every parked inbound channel. */
  inboundVariable: z.string().default(''),
  /**
   * With inboundVariable: take only channels whose variable has exactly this value ('' = any non-empty value).
   * Several nodes on one FreeSWITCH each take their share (e.g. callpilot=node-a / node-b set by the dialplan).
   */
  inboundValue: z.string().default(''),
  /** Reconnect backoff of the inbound ESL connection. */
  reconnect: z.object({ initialMs: z.number().int().min(10).default(250), maxMs: z.number().int().min(100).default(5000) }).prefault({}),
  /** originate_timeout when the request gives none. */
  originateTimeoutSec: z.number().int().min(1).max(600).default(45),
  skipPlaylistLeadIn: z
    .boolean()
    .default(true)
    .describe('Start each prompt playlist with a never-existing entry so file_string skips its 250 ms lead-in silence; measured back from playback_ms and corrected if FreeSWITCH plays it anyway.'),
  keepaliveSilence: z
    .number()
    .int()
    .min(-1)
    .max(10000)
    .default(400)
    .describe('send_silence_when_idle on bot channels so a parked call keeps sending RTP between prompts: N = comfort noise at 1/N level, -1 = digital silence, 0 = off. Set on originate; inbound calls need it in the dialplan before park.'),
  transferVerifyMs: z
    .number()
    .int()
    .min(1000)
    .max(600000)
    .default(30000)
    .describe('How long a transfer is watched for CHANNEL_BRIDGE (connected) or a hangup (failed) before its outcome is stored as unknown (ms; the call becomes `transfer_unverified`).'),
  playoutWaitMs: z
    .number()
    .int()
    .min(0)
    .max(120000)
    .default(15000)
    .describe('Longest wait for the last prompt to finish playing (PLAYBACK_STOP) before a bot hangup or transfer (ms).'),
});

export const pbxConfigSchema = z
  .object({
    asterisk: asteriskConfigSchema.optional(),
    freeswitch: freeswitchConfigSchema.optional(),
  })
  .prefault({});

export type AsteriskConfig = z.infer<typeof asteriskConfigSchema>;
export type FreeswitchConfig = z.infer<typeof freeswitchConfigSchema>;
export type PbxConfig = z.infer<typeof pbxConfigSchema>;
