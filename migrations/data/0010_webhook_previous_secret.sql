-- A webhook's secret rotation without a gap: the secret a change replaced
-- keeps signing beside the new one (a second `v1,` signature, which
-- Standard Webhooks receivers accept) until `previousSecretUntil`.
ALTER TABLE _webhooks ADD COLUMN previousSecret TEXT NOT NULL DEFAULT '';
ALTER TABLE _webhooks ADD COLUMN previousSecretUntil TEXT NOT NULL DEFAULT '';
