import SecurityGroupsCLI

SecurityGroupsCommand.main()
