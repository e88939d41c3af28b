// Checks Kubernetes manifests against the API's schemas, offline: the
// schemas ship inside the npm package kubernetes-models (compiled from the
// Kubernetes OpenAPI document). Types, enums, formats and required fields
// are checked; an unknown field name is not (the schemas allow extra
// properties), which check-deploy.py's structure check covers for the
// fields that matter.
//
// usage: node validate.mjs FILE...   (exit 0 when every object is valid)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseAllDocuments } from "yaml";

const require = createRequire(import.meta.url);
let bad = 0;
let checked = 0;

function modelFor(apiVersion, kind) {
	// "apps/v1" -> kubernetes-models/apps/v1/Deployment; "v1" -> v1/Service
	const path = `kubernetes-models/${apiVersion}/${kind}`;
	try {
		const mod = require(path);
		return mod[kind] || mod.default;
	} catch (e) {
		return null;
	}
}

for (const file of process.argv.slice(2)) {
	const docs = parseAllDocuments(readFileSync(file, "utf8"));
	for (const doc of docs) {
		if (doc.errors.length) {
			console.error(`${file}: ${doc.errors[0].message}`);
			bad++;
			continue;
		}
		const obj = doc.toJS();
		if (obj === null || obj === undefined)
			continue;
		const where = `${file}: ${obj.kind}/${obj.metadata && obj.metadata.name}`;
		if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
			console.error(`${file}: no apiVersion or kind`);
			bad++;
			continue;
		}
		const Model = modelFor(obj.apiVersion, obj.kind);
		if (!Model) {
			console.error(`${where}: no schema for ${obj.apiVersion} ${obj.kind}`);
			bad++;
			continue;
		}
		try {
			new Model(obj).validate();
			checked++;
		} catch (e) {
			const errs = e.errors || [];
			console.error(`${where}: ${e.message}`);
			for (const er of errs)
				console.error(`  ${er.instancePath || "/"}: ${er.message}`);
			bad++;
		}
	}
}
console.log(`k8s schema: ${checked} objects valid, ${bad} invalid`);
process.exit(bad ? 1 : 0);
