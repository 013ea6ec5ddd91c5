import type { Disposition } from '../types.ts';

/**
 * FreeSWITCH hangup cause names and their numbers: Q.850 up to 127, then FreeSWITCH's own
 * (ORIGINATOR_CANCEL 487, 5xx/6xx), which have no Q.850 equivalent and keep FS's number.
 */
const CAUSES: Record<string, number> = {
  UNSPECIFIED: 0,
  UNALLOCATED_NUMBER: 1,
  NO_ROUTE_TRANSIT_NET: 2,
  NO_ROUTE_DESTINATION: 3,
  CHANNEL_UNACCEPTABLE: 6,
  CALL_AWARDED_DELIVERED: 7,
  NORMAL_CLEARING: 16,
  USER_BUSY: 17,
  NO_USER_RESPONSE: 18,
  NO_ANSWER: 19,
  SUBSCRIBER_ABSENT: 20,
  CALL_REJECTED: 21,
  NUMBER_CHANGED: 22,
  REDIRECTION_TO_NEW_DESTINATION: 23,
  EXCHANGE_ROUTING_ERROR: 25,
  DESTINATION_OUT_OF_ORDER: 27,
  INVALID_NUMBER_FORMAT: 28,
  FACILITY_REJECTED: 29,
  RESPONSE_TO_STATUS_ENQUIRY: 30,
  NORMAL_UNSPECIFIED: 31,
  NORMAL_CIRCUIT_CONGESTION: 34,
  NETWORK_OUT_OF_ORDER: 38,
  NORMAL_TEMPORARY_FAILURE: 41,
  SWITCH_CONGESTION: 42,
  ACCESS_INFO_DISCARDED: 43,
  REQUESTED_CHAN_UNAVAIL: 44,
  PRE_EMPTED: 45,
  FACILITY_NOT_SUBSCRIBED: 50,
  OUTGOING_CALL_BARRED: 52,
  INCOMING_CALL_BARRED: 54,
  BEARERCAPABILITY_NOTAUTH: 57,
  BEARERCAPABILITY_NOTAVAIL: 58,
  SERVICE_UNAVAILABLE: 63,
  BEARERCAPABILITY_NOTIMPL: 65,
  CHAN_NOT_IMPLEMENTED: 66,
  FACILITY_NOT_IMPLEMENTED: 69,
  SERVICE_NOT_IMPLEMENTED: 79,
  INVALID_CALL_REFERENCE: 81,
  INCOMPATIBLE_DESTINATION: 88,
  INVALID_MSG_UNSPECIFIED: 95,
  MANDATORY_IE_MISSING: 96,
  MESSAGE_TYPE_NONEXIST: 97,
  WRONG_MESSAGE: 98,
  IE_NONEXIST: 99,
  INVALID_IE_CONTENTS: 100,
  WRONG_CALL_STATE: 101,
  RECOVERY_ON_TIMER_EXPIRE: 102,
  MANDATORY_IE_LENGTH_ERROR: 103,
  PROTOCOL_ERROR: 111,
  INTERWORKING: 127,
  ORIGINATOR_CANCEL: 487,
  CRASH: 700,
  SYSTEM_SHUTDOWN: 701,
  LOSE_RACE: 502,
  MANAGER_REQUEST: 503,
  BLIND_TRANSFER: 600,
  ATTENDED_TRANSFER: 601,
  ALLOTTED_TIMEOUT: 602,
  USER_CHALLENGE: 603,
  MEDIA_TIMEOUT: 604,
  PICKED_OFF: 605,
  USER_NOT_REGISTERED: 606,
  PROGRESS_TIMEOUT: 607,
  GATEWAY_DOWN: 609,
};

const NAMES_BY_NUMBER = new Map<number, string>(Object.entries(CAUSES).map(([name, number]) => [number, name]));

/** Number of a FreeSWITCH cause name; unknown names count as NORMAL_UNSPECIFIED (31). */
export function causeNumber(name: string | undefined): number {
  if (name === undefined) return CAUSES.NORMAL_UNSPECIFIED;
  return CAUSES[name.trim().toUpperCase()] ?? CAUSES.NORMAL_UNSPECIFIED;
}

/** FreeSWITCH's name for a cause number, for `uuid_kill <uuid> <cause>`. */
export function causeName(number: number): string {
  return NAMES_BY_NUMBER.get(number) ?? 'NORMAL_CLEARING';
}

/** The outbound-attempt outcome for a failed originate, the same buckets as on Asterisk. */
export function dispositionOfCause(name: string): Exclude<Disposition, 'answered'> {
  switch (name) {
    case 'USER_BUSY':
      return 'busy';
    case 'NO_ANSWER':
    case 'NO_USER_RESPONSE':
    case 'PROGRESS_TIMEOUT':
    case 'ALLOTTED_TIMEOUT':
      return 'no-answer';
    case 'NORMAL_CIRCUIT_CONGESTION':
    case 'SWITCH_CONGESTION':
    case 'REQUESTED_CHAN_UNAVAIL':
      return 'congestion';
    case 'ORIGINATOR_CANCEL':
    case 'LOSE_RACE':
      return 'cancelled';
    case 'UNALLOCATED_NUMBER':
    case 'NO_ROUTE_TRANSIT_NET':
    case 'NO_ROUTE_DESTINATION':
    case 'SUBSCRIBER_ABSENT':
    case 'NUMBER_CHANGED':
    case 'DESTINATION_OUT_OF_ORDER':
    case 'INVALID_NUMBER_FORMAT':
    case 'NETWORK_OUT_OF_ORDER':
    case 'NORMAL_TEMPORARY_FAILURE':
    case 'USER_NOT_REGISTERED':
    case 'GATEWAY_DOWN':
      return 'unreachable';
    default:
      return 'failed';
  }
}
