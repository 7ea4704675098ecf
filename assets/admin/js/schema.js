// What the dashboard knows about field types: their labels, the options
// it edits, and the fields a new collection starts with.

export const FIELD_TYPES = [
  ['text', 'Text'], ['number', 'Number'], ['bool', 'Bool'], ['email', 'Email'], ['url', 'URL'],
  ['date', 'Date'], ['select', 'Select'], ['json', 'JSON'], ['relation', 'Relation'], ['file', 'File'],
  ['editor', 'Rich text'], ['geoPoint', 'Geo point'], ['autodate', 'Autodate'],
];

export const typeLabel = (t) => FIELD_TYPES.find(([k]) => k === t)?.[1] || t;

export const RULES = [
  ['listRule', 'List', 'Who can list and search records.'],
  ['viewRule', 'View', 'Who can read one record.'],
  ['createRule', 'Create', 'Who can create records.'],
  ['updateRule', 'Update', 'Who can change records.'],
  ['deleteRule', 'Delete', 'Who can delete records.'],
];

/** The two more rules of auth collections. */
export const AUTH_RULES = [
  ['authRule', 'Sign in', 'Who may sign in, checked after the password or code is right, e.g. verified = true.'],
  ['manageRule', 'Manage', 'Who may manage other accounts (change their email or password without the old one).'],
];

/** The rules a collection of `type` has: [key, label, help]. Views are read-only. */
export const rulesOf = (type) => (type === 'auth' ? [...RULES, ...AUTH_RULES] : type === 'view' ? RULES.slice(0, 2) : RULES);

/** A new field of `type`, with the defaults the server would fill anyway. */
export function newField(type) {
  const base = { name: '', type, required: false, hidden: false, presentable: false };
  switch (type) {
    case 'select': return { ...base, values: [], maxSelect: 1 };
    case 'relation': return { ...base, collectionId: '', maxSelect: 1, cascadeDelete: false };
    case 'file': return { ...base, maxSelect: 1, maxSize: 0, mimeTypes: [], thumbs: [] };
    case 'autodate': return { ...base, onCreate: true, onUpdate: false };
    default: return base;
  }
}

/**
 * The system fields of a new collection of `type`, sent explicitly (as the
 * server would add them) so that its per-field errors index the list the
 * page shows.
 */
export function systemFields(type) {
  const id = { name: 'id', type: 'text', system: true, primaryKey: true, required: true, min: 15, max: 15,
    pattern: '^[a-z0-9]+$', autogeneratePattern: '[a-z0-9]{15}', hidden: false, presentable: false };
  if (type !== 'auth') return [id];
  return [
    id,
    { name: 'password', type: 'password', system: true, hidden: true, required: true, min: 8, max: 0, pattern: '', cost: 0, presentable: false },
    { name: 'tokenKey', type: 'text', system: true, hidden: true, required: true, min: 30, max: 60, pattern: '',
      autogeneratePattern: '[a-zA-Z0-9]{50}', primaryKey: false, presentable: false },
    { name: 'email', type: 'email', system: true, hidden: false, required: true, exceptDomains: [], onlyDomains: [], presentable: false },
    { name: 'emailVisibility', type: 'bool', system: true, hidden: false, required: false, presentable: false },
    { name: 'verified', type: 'bool', system: true, hidden: false, required: false, presentable: false },
  ];
}

/** The fields a new collection starts with: its system fields and the usual timestamps. */
export function starterFields(type = 'base') {
  return [
    ...systemFields(type),
    { ...newField('autodate'), name: 'created', onCreate: true, onUpdate: false },
    { ...newField('autodate'), name: 'updated', onCreate: true, onUpdate: true },
  ];
}

/**
 * Columns a records table shows for a collection: the id, the
 * collection's own fields, then the timestamps; never passwords.
 */
export function columnsOf(collection) {
  const fields = (collection.fields || []).filter((f) => f.type !== 'password' && f.name !== 'tokenKey');
  const id = fields.filter((f) => f.name === 'id');
  const stamps = fields.filter((f) => f.type === 'autodate');
  return [...id, ...fields.filter((f) => f.name !== 'id' && f.type !== 'autodate'), ...stamps];
}

/** A field editable in the record form (the server fills the others). */
export const editable = (f) => !(f.type === 'autodate' || (f.system && f.name === 'id') || f.name === 'tokenKey');
