// The wire shapes of the SafeLine management API (SAFELINE_API.md) as Schemas: the envelope and
// every payload the client reads. Lenient where real installs vary (null lists, missing extras).
import { Schema } from "effect"

/** `{data, err, msg}`: success is `err` null or empty, whatever the HTTP status. */
export const Envelope = Schema.Struct({
  data: Schema.optionalWith(Schema.Unknown, { nullable: true, default: () => null }),
  err: Schema.optionalWith(Schema.String, { nullable: true, default: () => "" }),
  msg: Schema.optionalWith(Schema.String, { nullable: true, default: () => "" })
})
export type Envelope = typeof Envelope.Type

/** A list field that SafeLine may send as `null` or leave out when it is empty. */
const list = <S extends Schema.Schema.Any>(item: S) =>
  Schema.optionalWith(Schema.Array(item), { nullable: true, default: () => [] })
const count = Schema.optionalWith(Schema.Number, { nullable: true, default: () => 0 })
const text = Schema.optionalWith(Schema.String, { nullable: true, default: () => "" })
const flag = Schema.optionalWith(Schema.Boolean, { nullable: true, default: () => false })

/** `data.nodes` + `data.total` (events, IP groups). */
export const NodesPage = <S extends Schema.Schema.Any>(item: S) => Schema.Struct({ nodes: list(item), total: count })
/** `data.data` + `data.total` (records, policies, sites). */
export const DataPage = <S extends Schema.Schema.Any>(item: S) => Schema.Struct({ data: list(item), total: count })

export const SystemInfoData = Schema.Struct({
  version: Schema.String,
  outdated: flag,
  deprecated: flag,
  license: Schema.optionalWith(Schema.Struct({ valid: flag }), { nullable: true, default: () => ({ valid: false }) }),
  machine_id: text,
  time: Schema.optional(Schema.Unknown)
})
export type SystemInfoData = typeof SystemInfoData.Type

export const AttackEvent = Schema.Struct({
  id: Schema.Number,
  ip: Schema.String,
  protocol: count,
  host: text,
  dst_port: count,
  country: text,
  province: text,
  city: text,
  start_at: Schema.Number,
  end_at: count,
  updated_at: count,
  deny_count: count,
  pass_count: count,
  finished: flag
})
export type AttackEvent = typeof AttackEvent.Type

export const DetectLog = Schema.Struct({
  id: Schema.Union(Schema.Number, Schema.String),
  event_id: Schema.optionalWith(Schema.Union(Schema.Number, Schema.String), { nullable: true, default: () => "" }),
  src_ip: Schema.String,
  host: text,
  url_path: text,
  query_string: text,
  method: text,
  module: text,
  rule_id: text,
  reason: text,
  payload: text,
  attack_type: Schema.Number,
  risk_level: count,
  action: Schema.Number,
  status_code: count,
  timestamp: Schema.Number,
  country: text
})
export type DetectLog = typeof DetectLog.Type

export const AclLog = Schema.Struct({ id: Schema.Number, ip: text, host: text, url_path: text, timestamp: count })
export type AclLog = typeof AclLog.Type

/** One 5-second bucket: `time` plus one request count per listener. */
export const QpsNode = Schema.Record({
  key: Schema.String,
  value: Schema.Union(Schema.Number, Schema.String, Schema.Null)
})
export const QpsData = Schema.Struct({ nodes: list(QpsNode) })
export type QpsData = typeof QpsData.Type

export const AttackStatData = Schema.Struct({
  attack_ip: count,
  intercept: Schema.optionalWith(
    Schema.Struct({
      block: count,
      rate_limit: count,
      challenge: count,
      auth_defense: count,
      offline: count,
      blacklist: count
    }),
    {
      nullable: true,
      default: () => ({ block: 0, rate_limit: 0, challenge: 0, auth_defense: 0, offline: 0, blacklist: 0 })
    }
  )
})
export type AttackStatData = typeof AttackStatData.Type

export const AccessStatData = Schema.Struct({ access: count, ip: count, session: count })
export type AccessStatData = typeof AccessStatData.Type

export const ModeData = Schema.Struct({
  semantics: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), {
    nullable: true,
    default: () => ({})
  })
})
export type ModeData = typeof ModeData.Type

export const IpGroup = Schema.Struct({
  id: Schema.Number,
  comment: text,
  ips: list(Schema.String),
  reference: text,
  builtin: flag,
  total: Schema.optional(Schema.Number),
  updated_at: Schema.optional(Schema.Unknown)
})
export type IpGroup = typeof IpGroup.Type

export const PolicyCondition = Schema.Struct({
  k: Schema.String,
  op: Schema.String,
  v: list(Schema.String),
  sub_k: text
})
export type PolicyCondition = typeof PolicyCondition.Type

export const Policy = Schema.Struct({
  id: Schema.Number,
  name: text,
  is_enabled: flag,
  action: Schema.Number,
  pattern: list(Schema.Array(PolicyCondition)),
  builtin: flag,
  pass_count: count,
  req_count: count
})
export type Policy = typeof Policy.Type

export const Site = Schema.Struct({
  id: Schema.Number,
  comment: text,
  server_names: list(Schema.String),
  ports: list(Schema.String),
  is_enabled: flag
})
export type Site = typeof Site.Type

/**
 * The simulator's `/api/open/system` version ends with this (e.g. `9.3.0-simulator`): how the client
 * knows it talks to the stand-in rather than a real SafeLine.
 */
export const SIMULATOR_VERSION_SUFFIX = "-simulator"

/** The largest `page_size` SafeLine accepts. */
export const MAX_PAGE_SIZE = 100

/** Creates answer the new id as a bare integer. */
export const CreatedId = Schema.Number

/** The detection modules of the global mode map and their values (SAFELINE_API.md). */
export const DETECTION_MODULES = [
  "m_sqli",
  "m_xss",
  "m_csrf",
  "m_ssrf",
  "m_ssti",
  "m_cmd_injection",
  "m_file_upload",
  "m_file_include",
  "m_java",
  "m_java_unserialize",
  "m_php_code_injection",
  "m_php_unserialize",
  "m_asp_code_injection",
  "m_http",
  "m_scanner",
  "m_response",
  "m_rule"
] as const
export type DetectionModule = (typeof DETECTION_MODULES)[number]

export const MODULE_VALUES = ["strict", "default", "dry_run", "disable"] as const
export type ModuleValue = (typeof MODULE_VALUES)[number]

/** Policy `action` values. */
export const POLICY_ACTION = { allow: 0, deny: 1, challenge: 2 } as const

/** Detection record `action` values. */
export const RECORD_ACTION = { pass: 0, block: 1 } as const
