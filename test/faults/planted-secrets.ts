/**
 * What the storage-initializer log shows of a deployment's environment (issue, point 5): 21 forms
 * a secret takes in environment_variables, planted with the secret `s3cr3tPlant`; the log masked
 * 17 of them, and a JSON "password", `--api-key v`, `Bearer v` and a webhook's path got through.
 * Each row: the variable, its value, and what the log shows.
 */
export const PLANT = 's3cr3tPlant';
export const PLANTED: [name: string, value: string, shown: string][] = [
  // Names that say secret: masked whole.
  ['API_KEY', PLANT, '***'],
  ['CLIENT_SECRET', PLANT, '***'],
  ['GITHUB_TOKEN', PLANT, '***'],
  ['DB_PASSWORD', PLANT, '***'],
  ['AZURE_STORAGE_CONNECTION_STRING', `AccountKey=${PLANT}`, '***'],
  ['SAS', PLANT, '***'],
  ['MY_CREDENTIAL', PLANT, '***'],
  ['PWD_ADMIN', PLANT, '***'],
  // Credentials inside other values: masked in place.
  ['DB_URL', `postgres://admin:${PLANT}@db/x`, 'postgres://admin:***@db/x'],
  ['GIT_REMOTE', `https://${PLANT}@github.com/o/r.git`, 'https://***@github.com/o/r.git'],
  ['BLOB', `https://a.blob.core.windows.net/c?sv=2020&sig=${PLANT}&se=1`, 'https://a.blob.core.windows.net/c?sv=2020&sig=***&se=1'],
  ['STORAGE', `DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${PLANT};EndpointSuffix=core.windows.net`, 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=***;EndpointSuffix=core.windows.net'],
  ['SERVICE_BUS', `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=${PLANT}`, 'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=***;SharedAccessKey=***'],
  ['REDIS', `redis://:${PLANT}@cache:6379/0`, 'redis://:***@cache:6379/0'],
  ['ODBC', `Server=db;Uid=sa;Pwd=${PLANT};`, 'Server=db;Uid=sa;Pwd=***;'],
  ['QUERY', `https://api.example.com/v1?api_key=${PLANT}`, 'https://api.example.com/v1?api_key=***'],
  ['ARGS', `--url x --password=${PLANT}`, '--url x --password=***'],
  // The four that got through.
  ['SETTINGS_JSON', `{"user": "app", "password": "${PLANT}", "port": 5432}`, '{"user": "app", "password": "***", "port": 5432}'],
  ['EXTRA_ARGS', `--verbose --api-key ${PLANT} --retries 3`, '--verbose --api-key *** --retries 3'],
  ['AUTH_HEADER', `Bearer ${PLANT}`, 'Bearer ***'],
  ['ALERTS', `https://hooks.slack.com/services/T0001/B0002/${PLANT}`, 'https://hooks.slack.com/***'],
];
