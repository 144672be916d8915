"""GET /swagger.json: the app root's swagger files, or documents generated as azmlinfsrv does."""

import json
import os
from urllib.parse import parse_qsl

from .response import json_error, json_ok


# Swagger builders as in azmlinfsrv: version, aliases, user files (first found wins).
SWAGGER_BUILDERS = (
    ("2", ("2", "2.0"), ("swagger.json", "swagger2.json")),
    ("3", ("3", "3.0"), ("swagger3.json",)),
    ("3.1", ("3.1",), ("swagger3.1.json",)),
)
VALID_SWAGGER_VERSIONS = frozenset(alias for _, aliases, _ in SWAGGER_BUILDERS for alias in aliases)
ALL_SWAGGER_VERSIONS = [version for version, _, _ in SWAGGER_BUILDERS]


def _swagger_document(version, cfg, input_schema, output_schema):
    name = cfg.service_name
    prefix = "/" + cfg.path_prefix.strip("/") if cfg.path_prefix else ""
    info = {
        "title": name,
        "description": "API specification for the Azure Machine Learning service %s" % name,
        "version": cfg.service_version,
    }
    bearer = {"type": "apiKey", "name": "Authorization", "in": "header", "description": "For example: Bearer abc123"}
    error_schema = {"type": "object", "properties": {"message": {"type": "string"}}}
    failed = "The service failed to execute due to an error."
    health_desc = "Simple health check endpoint to ensure the service is up at any given point."
    healthy_desc = "If service is up and running, this response will be returned with the content 'Healthy'"
    score_desc = "Run web service's model and get the prediction output"
    payload_desc = "The input payload for executing the real-time machine learning service."
    ok_desc = "The service processed the input correctly and provided a result prediction, if applicable."
    if version == "2":
        err_ref = {"$ref": "#/definitions/ErrorResponse"}
        return {
            "swagger": "2.0",
            "info": info,
            "schemes": ["https"],
            "consumes": ["application/json"],
            "produces": ["application/json"],
            "securityDefinitions": {"Bearer": bearer},
            "paths": {
                prefix + "/": {
                    "get": {
                        "operationId": "ServiceHealthCheck",
                        "description": health_desc,
                        "responses": {
                            "200": {
                                "description": healthy_desc,
                                "schema": {"type": "string"},
                                "examples": {"application/json": "Healthy"},
                            },
                            "default": {"description": failed, "schema": err_ref},
                        },
                    }
                },
                prefix + "/score": {
                    "post": {
                        "operationId": "RunMLService",
                        "description": score_desc,
                        "security": [{"Bearer": []}],
                        "parameters": [
                            {
                                "name": "serviceInputPayload",
                                "in": "body",
                                "description": payload_desc,
                                "schema": {"$ref": "#/definitions/ServiceInput"},
                            }
                        ],
                        "responses": {
                            "200": {"description": ok_desc, "schema": {"$ref": "#/definitions/ServiceOutput"}},
                            "default": {"description": failed, "schema": err_ref},
                        },
                    }
                },
                prefix + "/swagger.json": {
                    "get": {
                        "operationId": "GetSwaggerSpec",
                        "description": "Get the Swagger specification.",
                        "parameters": [
                            {"name": "version", "in": "query", "required": False, "type": "integer", "enum": [2, 3]}
                        ],
                        "responses": {
                            "200": {"description": "The Swagger specification.", "schema": {"type": "string"}},
                            "default": {"description": failed, "schema": err_ref},
                        },
                    }
                },
            },
            "definitions": {"ServiceInput": input_schema, "ServiceOutput": output_schema, "ErrorResponse": error_schema},
        }
    err_content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    return {
        "openapi": "3.1.0" if version == "3.1" else "3.0.3",
        "info": info,
        "security": [{"Bearer": []}],
        "paths": {
            prefix + "/": {
                "get": {
                    "operationId": "ServiceHealthCheck",
                    "description": health_desc,
                    "responses": {
                        "200": {
                            "description": healthy_desc,
                            "content": {"text/plain": {"schema": {"type": "string", "example": "Healthy"}}},
                        },
                        "default": {"description": failed, "content": err_content},
                    },
                }
            },
            prefix + "/score": {
                "post": {
                    "operationId": "RunMLService",
                    "description": score_desc,
                    "security": [{"Bearer": []}],
                    "requestBody": {
                        "description": payload_desc,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ServiceInput"}}},
                    },
                    "responses": {
                        "200": {
                            "description": ok_desc,
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/ServiceOutput"}}
                            },
                        },
                        "default": {"description": failed, "content": err_content},
                    },
                }
            },
            prefix + "/swagger.json": {
                "get": {
                    "operationId": "GetSwaggerSpec",
                    "description": "Get the Swagger specification.",
                    "parameters": [
                        {
                            "name": "version",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "enum": [2, 3]},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The Swagger specification.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "default": {"description": failed, "content": err_content},
                    },
                }
            },
        },
        "components": {
            "schemas": {"ServiceInput": input_schema, "ServiceOutput": output_schema, "ErrorResponse": error_schema},
            "securitySchemes": {"Bearer": bearer},
        },
    }


class Swagger(object):
    """Swagger documents by version alias, from the app root's files or generated (see README)."""

    def __init__(self, cfg, script):
        self.documents = {}
        self.supported = []
        self.sources = {}
        for version, aliases, files in SWAGGER_BUILDERS:
            document = None
            source = None
            for file_name in files:
                path = os.path.join(cfg.app_root, file_name)
                try:
                    with open(path, "r", encoding="utf-8") as handle:
                        document = json.load(handle)
                except FileNotFoundError:
                    continue
                if document:
                    source = path
                    break
            if not document:
                document = self._generate(version, aliases, cfg, script)
                source = "generated" if document else None
            if document:
                encoded = json.dumps(document).encode("utf-8")
                for alias in aliases:
                    self.documents[alias] = encoded
                self.supported.append(version)
                self.sources[version] = source
        self.supported.sort()

    @staticmethod
    def _generate(version, aliases, cfg, script):
        # azmlinfsrv generates swaggers through inference-schema, one of its dependencies: for an
        # undecorated run() a generic document with empty object schemas, which oep-server writes
        # itself, so that it needs no inference-schema for it.
        # An entry module may give its schemas itself (oep's MLflow script, from the signature).
        hook = getattr(script.module, "oep_swagger_schemas", None)
        if callable(hook):
            input_schema, output_schema = hook()
            return _swagger_document(version, cfg, input_schema, output_schema)
        run_fn = script.run_fn
        empty = {"type": "object", "example": {}}
        util = script.schema_util
        if util is None:
            return _swagger_document(version, cfg, empty, empty)
        supported = util.get_supported_versions(run_fn)
        if all(alias not in supported for alias in aliases):
            return None
        if script.decorated:
            input_schema = util.get_input_schema(run_fn)
            output_schema = util.get_output_schema(run_fn)
        else:
            input_schema = output_schema = empty
        return _swagger_document(version, cfg, input_schema, output_schema)

    def describe(self):
        if not self.supported:
            return "no swagger (run() is decorated for no swagger version)"
        return ", ".join("%s (%s)" % (version, self.sources[version]) for version in self.supported)

    def respond(self, query):
        version = None
        if query:
            for key, value in parse_qsl(query, keep_blank_values=True):
                if key == "version":
                    version = value
                    break
        if version is None:
            version = "2"
        if version not in VALID_SWAGGER_VERSIONS:
            listed = self.supported or ALL_SWAGGER_VERSIONS
            return json_error(
                404, "Swagger version [%s] is not valid. Supported versions: [%s]." % (version, ", ".join(listed))
            )
        document = self.documents.get(version)
        if not document:
            return json_error(
                404,
                "Swagger version [%s] is not supported for the scoring script. Supported swagger versions: [%s]."
                % (version, ", ".join(self.supported)),
            )
        return json_ok(document)
