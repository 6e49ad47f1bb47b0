export type { McpToolset } from './mcp-tools';
export { connectMcpTools } from './mcp-tools';
export type { McpServerOptions, McpToolsOptions, McpToolsOptionsInput } from './mcp-tools-options';
export { McpServerOptionsSchema, McpToolsOptionsSchema } from './mcp-tools-options';
