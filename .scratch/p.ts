import { pino } from 'pino';
import { maskValue } from '../src/core/index.ts';
const log = pino({ redact: { paths: ['from','to','endpoint','*.from','variables'], censor: (v: unknown) => maskValue(v) } });
log.info({ from: '13800138000', to: '+8613900139000', variables: { phone: '13800138000', x: 'a' } }, 'm');
const c = log.child({ from: '13800138000' });
c.info({ a: { from: '13700137000' } }, 'child');
