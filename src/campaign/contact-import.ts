import { randomUUID } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { NO_CONSENT, type CampaignRecord, type CampaignStore, type ContactInput, type ContactRole, type ImportReject, type ImportReport } from '../store/index.ts';
import type { ComplianceProfile } from './compliance.ts';
import { CampaignError } from './campaign-service.ts';
import { isValidTimeZone } from './compliance.ts';
import { normalizeNumber } from './numbers.ts';

/** Header names (lower-cased) as CRMs export them, to the contact field they fill. */
const HEADER_FIELD: Record<string, string> = {
  number: 'number', phone: 'number', mobile: 'number', tel: 'number', 手机号: 'number', 手机: 'number', 电话: 'number', 号码: 'number', 手机号码: 'number', 电话号码: 'number',
  role: 'role', 角色: 'role', 关系: 'role',
  timezone: 'timeZone', tz: 'timeZone', time_zone: 'timeZone', 时区: 'timeZone',
  consent: 'consent', 同意: 'consent', 授权: 'consent',
  name: 'name', 姓名: 'name', 客户姓名: 'name',
  amount: 'amount', 金额: 'amount', 欠款金额: 'amount',
  due_date: 'due_date', 到期日: 'due_date', 还款日: 'due_date',
  order_no: 'order_no', 订单号: 'order_no',
  card_no: 'card_no', card: 'card_no', 卡号: 'card_no',
};
const ROLE: Record<string, ContactRole> = { debtor: 'debtor', 本人: 'debtor', 债务人: 'debtor', related: 'related', 关联人: 'related', 亲属: 'related', unrelated: 'unrelated', 无关: 'unrelated', 第三方: 'unrelated' };
const TRUE = new Set(['1', 'true', 'yes', 'y', '是', '同意']);
const CONSENT_YES = [...TRUE].join(', ');
const BATCH = 2000;

export interface ImportOptions {
  store: CampaignStore;
  campaign: CampaignRecord;
  profile: ComplianceProfile;
  defaultCountry: string;
  file: string;
  now: () => number;
  onProgress?: (rows: number) => void;
}

export interface ImportResult {
  report: ImportReport;
  rejects: ImportReject[];
}

/** Rows of a CSV (UTF-8 with or without BOM, GBK/GB18030) or XLSX file, header row first. */
export async function readRows(data: Buffer): Promise<string[][]> {
  if (data.length >= 4 && data[0] === 0x50 && data[1] === 0x4b && data[2] === 0x03 && data[3] === 0x04) {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(data as unknown as ArrayBuffer);
    const sheet = wb.worksheets[0];
    if (!sheet) return [];
    const rows: string[][] = [];
    sheet.eachRow({ includeEmpty: true }, (row, rowNumber) => {
      const values: string[] = [];
      for (let c = 1; c <= row.cellCount; c++) values.push(cellText(row.getCell(c).value));
      rows[rowNumber - 1] = values;
    });
    return Array.from(rows, (r) => r ?? []);
  }
  return parseCsv(decodeText(data), { relax_column_count: true, skip_empty_lines: false, bom: false }) as string[][];
}

function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (typeof v === 'object') {
    if ('text' in v && typeof v.text === 'string') return v.text;
    if ('result' in v) return String(v.result ?? '');
    if ('richText' in v) return v.richText.map((t) => t.text).join('');
  }
  return String(v);
}

/** UTF-8 (BOM stripped) when it decodes cleanly, else GB18030 (a superset of GBK, what Chinese Excel saves). */
export function decodeText(data: Buffer): string {
  let buf = data;
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return iconv.decode(buf, 'gb18030');
  }
}

/**
 * Imports a contact file into a campaign: numbers normalized to E.164, and every row that cannot be dialled
 * rejected with its row, column and reason (invalid number, duplicate, DNC, role the profile forbids, no consent where
 * the profile requires it, bad zone).
 */
export async function importContacts(data: Buffer, o: ImportOptions): Promise<ImportResult> {
  let rows: string[][];
  try {
    rows = await readRows(data);
  } catch (err) {
    // A corrupt XLSX or a CSV the parser cannot split: the caller's file, not our fault (400, nothing stored).
    throw new CampaignError(`cannot read the contact file: ${(err as Error).message}`);
  }
  const header = (rows[0] ?? []).map((h) => h.trim());
  const fields = header.map((h) => HEADER_FIELD[h.toLowerCase()] ?? h);
  const numberCol = fields.indexOf('number');
  // Rejects name the column as the file's header spells it (角色, role, 关系), so the operator finds it.
  const roleColumn = header[fields.indexOf('role')] ?? 'role';
  const consentColumn = header[fields.indexOf('consent')] ?? 'consent';
  const rejects: ImportReject[] = [];
  if (numberCol < 0) {
    rejects.push({ row: 1, column: '(header)', reason: `no phone number column (one of: ${Object.keys(HEADER_FIELD).filter((k) => HEADER_FIELD[k] === 'number').join(', ')})` });
  }
  const nowIso = new Date(o.now()).toISOString();
  let accepted = 0;
  let dataRows = 0;
  let batch: ContactInput[] = [];
  const seen = new Set<string>();
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const { duplicates, inserted } = await o.store.addContacts(o.campaign.id, batch, nowIso);
    accepted += inserted;
    for (const i of duplicates) rejects.push({ row: batch[i]!.rowNo ?? 0, column: header[numberCol] ?? 'number', reason: 'already in this campaign', value: batch[i]!.number });
    batch = [];
  };
  for (let r = 1; r < rows.length && numberCol >= 0; r++) {
    const row = rows[r]!;
    const rowNo = r + 1;
    if (row.every((v) => (v ?? '').trim() === '')) continue;
    dataRows++;
    const raw = (row[numberCol] ?? '').trim();
    const numberColumn = header[numberCol] ?? 'number';
    const n = normalizeNumber(raw, o.defaultCountry);
    if (!n.ok) {
      rejects.push({ row: rowNo, column: numberColumn, reason: n.reason, value: raw });
      continue;
    }
    if (seen.has(n.e164)) {
      rejects.push({ row: rowNo, column: numberColumn, reason: 'duplicate number in the file', value: raw });
      continue;
    }
    seen.add(n.e164);
    const contact: ContactInput = { number: n.e164, rowNo, variables: {} };
    let bad: ImportReject | undefined;
    fields.forEach((f, c) => {
      if (c === numberCol || bad) return;
      const v = (row[c] ?? '').trim();
      if (f === 'role') {
        if (v === '') return;
        const role = ROLE[v.toLowerCase()];
        if (!role) bad = { row: rowNo, column: header[c]!, reason: 'role must be debtor, related or unrelated', value: v };
        else contact.role = role;
      } else if (f === 'timeZone') {
        if (v === '') return;
        if (!isValidTimeZone(v)) bad = { row: rowNo, column: header[c]!, reason: 'unknown time zone', value: v };
        else contact.timeZone = v;
      } else if (f === 'consent') contact.consent = TRUE.has(v.toLowerCase());
      else if (f !== '' && v !== '') contact.variables[f] = v;
    });
    if (!bad && o.profile.allowedRoles && (!contact.role || !o.profile.allowedRoles.includes(contact.role))) {
      bad = { row: rowNo, column: roleColumn, reason: `role ${contact.role ?? '(none)'} may not be dialled under ${o.campaign.profile}`, value: contact.role };
    }
    if (!bad && o.profile.requireConsent && !contact.consent) {
      const value = fields.includes('consent') ? (row[fields.indexOf('consent')] ?? '').trim() : undefined;
      bad = { row: rowNo, column: consentColumn, reason: `${NO_CONSENT}: ${o.campaign.profile} dials only contacts with recorded consent (${CONSENT_YES})`, value };
    }
    if (!bad) {
      const dnc = await o.store.findDnc(n.e164, o.campaign.id, nowIso);
      if (dnc) bad = { row: rowNo, column: numberColumn, reason: `on the ${dnc.scope === 'global' ? 'global' : 'campaign'} do-not-call list (${dnc.reason})`, value: raw };
    }
    if (bad) {
      rejects.push(bad);
      continue;
    }
    batch.push(contact);
    if (batch.length >= BATCH) {
      await flush();
      o.onProgress?.(r);
    }
  }
  await flush();
  o.onProgress?.(rows.length - 1);
  rejects.sort((a, b) => a.row - b.row);
  const report: ImportReport = {
    id: `imp_${randomUUID().replace(/-/g, '').slice(0, 16)}`,
    campaignId: o.campaign.id,
    file: o.file,
    createdAt: nowIso,
    rows: dataRows,
    accepted,
    rejected: rejects.length,
  };
  await o.store.saveImportReport(report, rejects);
  return { report, rejects };
}

/** The rejection report as CSV (row, column, reason, value), UTF-8 with BOM so Excel opens it right. */
export function rejectsCsv(rejects: ImportReject[]): string {
  const q = (s: string | number | undefined): string => {
    const t = String(s ?? '');
    return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
  };
  return `\uFEFFrow,column,reason,value\n${rejects.map((r) => [r.row, r.column, r.reason, r.value].map(q).join(',')).join('\n')}\n`;
}
