import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

const id = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'lowercase letters, digits and "-", starting with a letter');

const InstitutionsFile = z
  .object({
    institutions: z.array(
      z
        .object({
          id,
          name: z.string().min(1),
          relaysFor: z.array(id).default([]),
          // A consultation application of the institution (19/010 §3, §37: DOLSIS shows data, records
          // none): a principal of its own that sends on the institution's consultation-requests topic and
          // alone reads its consultations topic.
          consultation: z.object({ principal: id }).strict().optional(),
        })
        .strict(),
    ),
    sources: z.array(z.object({ id, name: z.string().min(1) }).strict()),
    auditors: z.array(id).min(1),
    // The audit sealer runs as a principal of its own: it reads the audit trail and writes only its
    // seals, so neither the gateway (which writes the trail) nor an auditor (who checks it) can seal.
    sealer: id.default('audit-sealer'),
    // Operators read the dead letters (whole messages that could not be read, personal data included):
    // nobody else does.
    operators: z.array(id).default([]),
  })
  .strict();

export type Institutions = z.infer<typeof InstitutionsFile>;

export function sourcePrincipal(sourceId: string): string {
  return `source-${sourceId}`;
}

/**
 * Every SCRAM user the switch needs: the gateway, institutions, their consultation applications,
 * sources, auditors, the audit sealer and operators.
 */
export function principalNames(institutions: Institutions): string[] {
  return [
    'gateway',
    ...institutions.institutions.map((i) => i.id),
    ...institutions.institutions.flatMap((i) => (i.consultation ? [i.consultation.principal] : [])),
    ...institutions.sources.map((s) => sourcePrincipal(s.id)),
    ...institutions.auditors,
    institutions.sealer,
    ...institutions.operators,
  ];
}

/** The institution whose consultation application runs as `principal`, if any. */
export function consultationOf(institutions: Institutions, institution: string): string | null {
  return institutions.institutions.find((i) => i.id === institution)?.consultation?.principal ?? null;
}

export function loadInstitutions(configDir: string): Institutions {
  const file = join(configDir, 'institutions.yaml');
  const parsed = InstitutionsFile.safeParse(parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  const ids = new Set<string>();
  for (const institution of parsed.data.institutions) {
    if (ids.has(institution.id)) throw new Error(`${file}: institutions: duplicate id ${institution.id}`);
    ids.add(institution.id);
  }
  for (const institution of parsed.data.institutions) {
    for (const target of institution.relaysFor) {
      if (!ids.has(target)) throw new Error(`${file}: institutions.${institution.id}.relaysFor: unknown institution ${target}`);
    }
  }
  return parsed.data;
}
