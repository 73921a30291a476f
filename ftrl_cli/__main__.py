from ftrl_cli.cli import main

main()
