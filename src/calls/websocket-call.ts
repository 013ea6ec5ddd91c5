import type { Logger } from 'pino';
import type { CallEngine } from '../dialog/index.ts';
import type { MediaStart, MediaWebSocketLeg } from '../media/index.ts';

/**
 * Runs a call that arrived on the `/media` WebSocket (simulator, console, a client of the media protocol): the
 * engine's timeline goes back to the client as notices.
 */
export function runMediaWebSocketCall(engine: CallEngine, leg: MediaWebSocketLeg, start: MediaStart, log: Logger): void {
  engine
    .runCall({
      leg,
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
    .catch((err: unknown) => log.error({ err, callId: leg.callId }, 'media WebSocket call failed'));
}
