import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUILTIN_PROFILES, importContacts, rejectsCsv } from '../../src/campaign/index.ts';
import { world } from './helpers.ts';

async function setup() {
  const w = world();
  const campaign = await w.service.create({ name: 'import', flow: 'demo', dialPattern: 'PJSIP/{national}@trunk', profile: 'cn-collection' });
  await w.service.addDnc({ numbers: ['13900000009'], reason: 'complaint' });
  const run = (data: Buffer) =>
    importContacts(data, { store: w.store.campaigns, campaign, profile: BUILTIN_PROFILES['cn-collection']!, defaultCountry: 'CN', file: 't.csv', now: () => w.clock.now() });
  return { w, campaign, run };
}

const CSV = [
  '手机号,姓名,金额,到期日,角色,备注',
  '138 0013 8000,张三,"1,234.50",2026-12-10,本人,"第一行',
  '第二行"',
  '',
  '010-6552 9988,李四,200,2026-12-11,related,',
  '12345,王五,1,2026-12-12,debtor,',
  '13800138000,张三重复,1,2026-12-12,debtor,',
  '13900000009,黑名单,1,2026-12-12,debtor,',
  '13900000010,第三方,1,2026-12-12,unrelated,',
  '',
].join('\r\n');

test('CSV in GBK and in UTF-8 with BOM: quoted commas and newlines, empty lines, per-row rejections', async () => {
  for (const data of [iconv.encode(CSV, 'gbk'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(CSV, 'utf8')])]) {
    const { w, campaign, run } = await setup();
    const { report, rejects } = await run(data);
    assert.is(report.rows, 6);
    assert.is(report.accepted, 2);
    assert.equal(
      rejects.map((r) => [r.row, r.column, r.reason.split(' ')[0]]),
      [
        // Row = record of the file (header 1); the quoted newline keeps 张三 one record.
        [5, '手机号', 'invalid'],
        [6, '手机号', 'duplicate'],
        [7, '手机号', 'on'],
        [8, '角色', 'role'], // the column as the file's header spells it
      ],
    );
    const contacts = await w.store.campaigns.listContacts(campaign.id);
    assert.equal(contacts[0]!.variables, { name: '张三', amount: '1,234.50', due_date: '2026-12-10', 备注: '第一行\r\n第二行' });
    assert.is(contacts[0]!.number, '+8613800138000');
    assert.is(contacts[1]!.number, '+861065529988');
    assert.is(contacts[1]!.role, 'related');
    const csv = rejectsCsv(rejects);
    assert.ok(csv.startsWith('\uFEFFrow,column,reason,value\n5,手机号,invalid number for CN,12345\n'));
    const stored = await w.store.campaigns.getImportReport(report.id);
    assert.is(stored!.rejects.length, 4);
  }
});

test('XLSX: the first sheet, header row, numbers as numbers', async () => {
  const wb = new ExcelJS.Workbook();
  const sheet = wb.addWorksheet('contacts');
  sheet.addRow(['phone', 'name', 'role']);
  sheet.addRow([13800138001, '赵六', 'debtor']);
  sheet.addRow(['bad', 'x', 'debtor']);
  const data = Buffer.from(await wb.xlsx.writeBuffer());
  const { run } = await setup();
  const { report, rejects } = await run(data);
  assert.is(report.accepted, 1);
  assert.equal(rejects.map((r) => r.row), [3]);
});

test('a profile that requires consent (us-tcpa) rejects rows without it, CSV and XLSX, naming the row and column', async () => {
  const w = world();
  const campaign = await w.service.create({ name: 'tcpa', flow: 'demo', dialPattern: 'PJSIP/{e164}@us', profile: 'us-tcpa', timeZone: 'America/New_York' });
  const run = (data: Buffer, file: string) =>
    importContacts(data, { store: w.store.campaigns, campaign, profile: BUILTIN_PROFILES['us-tcpa']!, defaultCountry: 'US', file, now: () => w.clock.now() });
  const csv = ['phone,Consent,name', '212-555-0101,yes,Ann', '212-555-0102,no,Bob', '212-555-0103,,Cy', '212-555-0104,1,Di'].join('\n');
  const { report, rejects } = await run(Buffer.from(csv), 'us.csv');
  assert.equal([report.rows, report.accepted, report.rejected], [4, 2, 2]);
  assert.equal(rejects.map((r) => [r.row, r.column, r.reason.split(':')[0], r.value]), [[3, 'Consent', 'no_consent', 'no'], [4, 'Consent', 'no_consent', '']]);
  assert.equal((await w.store.campaigns.listContacts(campaign.id)).map((c) => [c.number, c.consent]), [['+12125550101', true], ['+12125550104', true]]);
  // A file without a consent column at all: every row lacks it.
  const wb = new ExcelJS.Workbook();
  wb.addWorksheet('s').addRows([['phone', 'name'], ['212-555-0105', 'Ed']]);
  const xlsx = await run(Buffer.from(await wb.xlsx.writeBuffer()), 'us.xlsx');
  assert.equal(xlsx.rejects.map((r) => [r.row, r.column, r.reason.split(':')[0]]), [[2, 'consent', 'no_consent']]);
  assert.is(xlsx.report.accepted, 0);
});

test('100,000 rows import with the report intact', async () => {
  const lines = ['number,name,role'];
  for (let i = 0; i < 100_000; i++) lines.push(`${13000000000 + i * 7},n${i},debtor`);
  lines.push('not-a-number,x,debtor');
  const { run } = await setup();
  const { report, rejects } = await run(Buffer.from(lines.join('\n')));
  assert.is(report.rows, 100_001);
  assert.is(report.accepted + report.rejected, 100_001);
  assert.ok(rejects.some((r) => r.row === 100_002 && /not a phone number/.test(r.reason)));
});

test.run();
