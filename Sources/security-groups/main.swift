import Glibc
import SecurityGroupsCLI

if let status = AgentCommandLine.run(Array(CommandLine.arguments.dropFirst())) { exit(status) }
SecurityGroupsCommand.main()
