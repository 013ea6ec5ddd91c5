import type { Logger } from 'pino';
import type { CallEngine } from '../dialog/index.ts';
import type { MediaStart, MediaWebSocketLeg } from '../media/index.ts';

/**
 * Runs a call that arrived on the `/media` WebSocket (simulator, console, a client of the media protocol): the
 * engine's timeline goes back to the client as notices. `release` frees the call's admission place once the call
 * is over and stored.
 */
export function runMediaWebSocketCall(engine: CallEngine, leg: MediaWebSocketLeg, start: MediaStart, log: Logger, release: () => void = () => undefined): void {
  engine
    .runCall({
      leg,
      callId: start.callId,
      externalId: start.externalId,
      pbx: 'simulator',
      direction: 'inbound',
      from: start.from,
      to: start.to,
      flow: start.flow,
      lang: start.lang,
      variables: start.variables,
      onEvent: (event) => {
        leg.sendNotice({ event: 'timeline', ...event });
        if (event.type === 'final') leg.sendNotice({ event: 'transcript', text: event.text, final: true });
        else if (event.type === 'partial') leg.sendNotice({ event: 'transcript', text: event.text, final: false });
        else if (event.type === 'bot') leg.sendNotice({ event: 'bot', text: event.text });
      },
    })
    // runCall never rejects by contract; this is the last line should that ever break: log and end the leg.
    .catch((err: unknown) => {
      log.error({ err, callId: start.callId }, 'media WebSocket call failed');
      return leg.close({ code: 'protocol_error', detail: 'internal error' }).catch(() => undefined);
    })
    .finally(release);
}
