/**
 * The fake Asterisk's ARI description: Swagger 1.1 files in the shape Asterisk 22 serves at
 * `/ari/api-docs/*.json`, with only the resources and operations Hotline and its tests use.
 * ari-client downloads `resources.json` and then each listed file when it connects; the
 * operations here are what it then attaches. Written for the project (the real files are
 * Asterisk's, recorded in ../shared/asterisk/api-docs when that folder is present).
 */

type Param = { name: string; paramType: 'path' | 'query' | 'body'; dataType: string; required?: boolean };
type Operation = { httpMethod: 'GET' | 'POST' | 'DELETE'; nickname: string; responseClass: string; parameters?: Param[] };
type Api = { path: string; operations: Operation[] };

const path = (name: string): Param => ({ name, paramType: 'path', dataType: 'string', required: true });
const query = (name: string, required = false): Param => ({ name, paramType: 'query', dataType: 'string', required });
const op = (httpMethod: Operation['httpMethod'], nickname: string, responseClass: string, ...parameters: Param[]): Operation => ({ httpMethod, nickname, responseClass, parameters });

/** The resources, by file name without `.json`. */
const RESOURCES: Record<string, { description: string; apis: Api[]; models?: Record<string, unknown> }> = {
  asterisk: {
    description: 'Asterisk resources',
    apis: [{ path: '/asterisk/info', operations: [op('GET', 'getInfo', 'AsteriskInfo', query('only'))] }],
  },
  channels: {
    description: 'Channel resources',
    apis: [
      {
        path: '/channels',
        operations: [
          op('GET', 'list', 'List[Channel]'),
          op('POST', 'originate', 'Channel', query('endpoint', true), query('extension'), query('context'), query('priority'), query('app'), query('appArgs'), query('callerId'), query('timeout'), query('channelId'), query('otherChannelId')),
        ],
      },
      { path: '/channels/{channelId}', operations: [op('GET', 'get', 'Channel', path('channelId')), op('DELETE', 'hangup', 'void', path('channelId'), query('reason'))] },
      { path: '/channels/{channelId}/continue', operations: [op('POST', 'continueInDialplan', 'void', path('channelId'), query('context'), query('extension'), query('priority'), query('label'))] },
      { path: '/channels/{channelId}/answer', operations: [op('POST', 'answer', 'void', path('channelId'))] },
      { path: '/channels/{channelId}/dtmf', operations: [op('POST', 'sendDTMF', 'void', path('channelId'), query('dtmf'), query('before'), query('between'), query('duration'), query('after'))] },
      { path: '/channels/{channelId}/play', operations: [op('POST', 'play', 'Playback', path('channelId'), query('media', true), query('lang'), query('offsetms'), query('skipms'), query('playbackId'))] },
      {
        path: '/channels/{channelId}/variable',
        operations: [op('GET', 'getChannelVar', 'Variable', path('channelId'), query('variable', true)), op('POST', 'setChannelVar', 'void', path('channelId'), query('variable', true), query('value'))],
      },
    ],
  },
  playbacks: {
    description: 'Playback control resources',
    apis: [{ path: '/playbacks/{playbackId}', operations: [op('GET', 'get', 'Playback', path('playbackId')), op('DELETE', 'stop', 'void', path('playbackId'))] }],
  },
  applications: {
    description: 'Stasis application resources',
    apis: [
      { path: '/applications', operations: [op('GET', 'list', 'List[Application]')] },
      { path: '/applications/{applicationName}', operations: [op('GET', 'get', 'Application', path('applicationName'))] },
    ],
  },
  events: {
    description: 'WebSocket resource',
    apis: [{ path: '/events', operations: [op('GET', 'eventWebsocket', 'Message', query('app', true), query('subscribeAll'))] }],
    // ari-client looks event types up here; Hotline reads events itself, so none need a model.
    models: { Message: { id: 'Message', properties: { type: { type: 'string', required: true } } } },
  },
};

/** The files the fake serves under `/ari/api-docs/`, by name; `basePath` is rewritten per request. */
export function ariApiDocs(): Map<string, string> {
  const base = { apiVersion: '10.0.0', swaggerVersion: '1.1', basePath: 'http://localhost:8088/ari' };
  const files = new Map<string, string>();
  files.set('resources.json', JSON.stringify({ ...base, apis: Object.entries(RESOURCES).map(([name, r]) => ({ path: `/api-docs/${name}.{format}`, description: r.description })) }));
  for (const [name, r] of Object.entries(RESOURCES)) {
    const apis = r.apis.map((api) => ({ path: api.path, description: r.description, operations: api.operations.map((o) => ({ ...o, summary: o.nickname })) }));
    files.set(`${name}.json`, JSON.stringify({ ...base, resourcePath: `/api-docs/${name}.{format}`, apis, models: r.models ?? {} }));
  }
  return files;
}
